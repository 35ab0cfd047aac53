// JSON the way this project needs it beyond JSON.parse: syntax errors located by position alone (JSON.parse's
// messages quote the text around the error, which in a config is where credential values sit), and a lossless
// parse of provider bodies (JSON.parse rounds numbers beyond 2^53; such a value is kept as its exact text).

/** Where a JSON text stops being JSON: the offset, line and column (1-based) of the first bad character. */
export interface JsonSyntaxPosition {
  offset: number;
  line: number;
  column: number;
}

class Stop {
  constructor(readonly offset: number) {}
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The first syntax error in `text`, or null when it is valid JSON. Never returns any of the text itself. */
export function jsonSyntaxPosition(text: string): JsonSyntaxPosition | null {
  try {
    new SyntaxScan(text).document();
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return positionOf(text, e.offset);
  }
}

/** A recursive-descent pass over a JSON text that throws Stop at the first character that is not JSON. */
class SyntaxScan {
  private i = 0;
  constructor(private readonly text: string) {}

  document(): void {
    this.value(0);
    this.ws();
    if (this.i < this.text.length) throw new Stop(this.i);
  }

  private ws(): void {
    while (this.i < this.text.length && WS.has(this.text[this.i] as string)) this.i++;
  }

  private expect(c: string): void {
    if (this.text[this.i] !== c) throw new Stop(this.i);
    this.i++;
  }

  private string(): void {
    const text = this.text;
    this.expect('"');
    for (;;) {
      const c = text.charCodeAt(this.i);
      if (Number.isNaN(c) || c < 0x20) throw new Stop(this.i);
      this.i++;
      if (c === 0x22) return;
      if (c !== 0x5c) continue;
      const e = text[this.i];
      if (e === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(this.i + 1, this.i + 5))) throw new Stop(this.i);
        this.i += 5;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i++;
      else throw new Stop(this.i);
    }
  }

  private value(depth: number): void {
    if (depth > 512) throw new Stop(this.i);
    this.ws();
    const c = this.text[this.i];
    if (c === "{") this.container("}", () => this.member(depth));
    else if (c === "[") this.container("]", () => this.value(depth + 1));
    else if (c === '"') this.string();
    else this.scalar();
  }

  private member(depth: number): void {
    this.string();
    this.ws();
    this.expect(":");
    this.value(depth + 1);
  }

  private scalar(): void {
    for (const word of ["true", "false", "null"]) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    NUMBER.lastIndex = this.i;
    if (!NUMBER.test(this.text)) throw new Stop(this.i);
    this.i = NUMBER.lastIndex;
  }

  private container(close: string, each: () => void): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      each();
      this.ws();
      if (this.text[this.i] === close) {
        this.i++;
        return;
      }
      this.expect(",");
    }
  }
}

function positionOf(text: string, offset: number): JsonSyntaxPosition {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === "\n") {
      line++;
      lineStart = k + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/**
 * JSON.parse whose failure says only where the text went wrong ("syntax error at line 3, column 52"): the
 * thrown Error carries no fragment of the text and no cause. `what` names the text ("config file x.json").
 */
export function parseJsonQuietly(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not a re-throw of JSON.parse's error, nor its cause: both quote the text.
  }
  const at = jsonSyntaxPosition(text);
  const where = at ? `syntax error at line ${at.line}, column ${at.column} (offset ${at.offset})` : "syntax error";
  throw new JsonSyntaxError(`${what} is not valid JSON: ${where}`, at);
}

export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
  constructor(
    message: string,
    readonly position: JsonSyntaxPosition | null,
  ) {
    super(message);
  }
}

// 2^53 has 16 digits: a body where no number (after ":", "," or "[") starts with 16 digits or has an exponent
// holds no number JSON.parse could round beyond the safe range. Text inside strings may match too: that only
// costs the scan below.
const MAY_BE_UNSAFE = /[:,[]\s*-?\d(?:\d{15}|[\d.]*[eE])/;

/**
 * JSON.parse without losing numbers beyond Number.MAX_SAFE_INTEGER: each number whose magnitude exceeds it (an
 * integer above 2^53, 1e300) is kept as a string of its exact text. JSON.parse would round it, and DynamoDB's
 * marshaller refuses it. Other values parse as JSON.parse parses them; a body without such a number costs one
 * regex test. Errors are JSON.parse's own.
 */
export function parseJsonLossless(text: string): unknown {
  if (!MAY_BE_UNSAFE.test(text)) return JSON.parse(text);
  return JSON.parse(quoteUnsafeNumbers(text));
}

/** The text with every number literal (outside strings) beyond the safe range wrapped in quotes. */
export function quoteUnsafeNumbers(text: string): string {
  let out = "";
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (c !== "-" && (c < "0" || c > "9")) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) {
      i++;
      continue;
    }
    const end = NUMBER.lastIndex;
    const token = text.slice(i, end);
    const value = Math.abs(Number(token));
    if (value > Number.MAX_SAFE_INTEGER || !Number.isFinite(value)) {
      out += `${text.slice(from, i)}"${token}"`;
      from = end;
    }
    i = end;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The offset just past the string starting at `start` (or the text's end when it is unterminated). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else i++;
  }
  return i;
}
