/**
 * A `secrets.json` made at first start and read afterwards: in a git-ignored folder, readable by
 * the owner only, never overwritten.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Reads `dir/secrets.json`, or creates it with `create()` when it does not exist yet. */
export async function loadOrCreateSecrets<T>(
  dir: string,
  isValid: (value: unknown) => value is T,
  create: () => Promise<T>,
): Promise<T> {
  const file = join(dir, 'secrets.json')
  let text: string | undefined
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) {
    const parsed: unknown = JSON.parse(text)
    if (!isValid(parsed)) throw new Error(`${file} is not usable: delete it to make new secrets`)
    return parsed
  }
  const secrets = await create()
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  return secrets
}
