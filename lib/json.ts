// JSON the way this project needs it beyond JSON.parse: syntax errors located by position alone (JSON.parse's
// messages quote the text around the error, which in a config is where credential values sit).

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
  let i = 0;
  const ws = () => {
    while (i < text.length && WS.has(text[i] as string)) i++;
  };
  const expect = (c: string) => {
    if (text[i] !== c) throw new Stop(i);
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c) || c < 0x20) throw new Stop(i);
      i++;
      if (c === 0x22) return;
      if (c !== 0x5c) continue;
      const e = text[i];
      if (e === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) throw new Stop(i);
        i += 5;
      } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
      else throw new Stop(i);
    }
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Stop(i);
    ws();
    const c = text[i];
    if (c === "{") container("}", () => member(depth));
    else if (c === "[") container("]", () => value(depth + 1));
    else if (c === '"') string();
    else scalar();
  };
  const member = (depth: number) => {
    string();
    ws();
    expect(":");
    value(depth + 1);
  };
  const scalar = () => {
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(text)) throw new Stop(i);
    i = NUMBER.lastIndex;
  };
  const container = (close: string, each: () => void) => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      ws();
      each();
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      expect(",");
    }
  };
  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop(i);
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return positionOf(text, e.offset);
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
