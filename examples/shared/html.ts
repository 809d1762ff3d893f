/**
 * Escaped template literals: html`<p>${name}</p>` escapes every interpolated value, except markup
 * made by html`` itself. The examples build all their markup with it.
 */

/** Markup that is already safe: the result of html``. */
export class SafeHtml {
  readonly #markup: string

  constructor(markup: string) {
    this.#markup = markup
  }

  toString(): string {
    return this.#markup
  }
}

/** What may be interpolated: text (escaped), numbers, safe markup, lists of these, or nothing. */
export type Interpolation =
  SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[]

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
}

/** Escapes text for element content and quoted attribute values. */
export function escapeText(text: string): string {
  return text.replace(/[&<>"'`]/g, (char) => ESCAPES[char] ?? char)
}

function render(value: Interpolation): string {
  if (value instanceof SafeHtml) return value.toString()
  if (Array.isArray(value)) return value.map((item: Interpolation) => render(item)).join('')
  if (value === null || value === undefined || value === false || value === true) return ''
  return escapeText(String(value))
}

/** The tag: literal parts are trusted markup, interpolations are escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): SafeHtml {
  let out = strings[0] ?? ''
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '')
  })
  return new SafeHtml(out)
}
