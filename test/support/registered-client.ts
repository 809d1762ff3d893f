/**
 * What a real oidc-provider registered for a client, read from its own client model: for tests
 * of dynamic registration to check what the bank stored, not what the client believes.
 */
import assert from 'node:assert/strict'
import type { StartedFapi2Provider } from './provider-fapi2.js'

export async function registeredAt(
  as: StartedFapi2Provider,
  clientId: string | undefined,
): Promise<Record<string, unknown>> {
  const { Client } = as.provider as unknown as {
    Client: { find(id: string): Promise<{ metadata(): Record<string, unknown> } | undefined> }
  }
  const client = await Client.find(clientId ?? '')
  assert.ok(client !== undefined, 'registered at the bank')
  return client.metadata()
}
