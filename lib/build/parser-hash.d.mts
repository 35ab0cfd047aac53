// Types for parser-hash.mjs (plain JavaScript for the builds), so tests can check it.
export function parserHash(root: string): string;
export function parserDefine(root: string): { __IMAGE_SYNC_PARSER_HASH__: string };
