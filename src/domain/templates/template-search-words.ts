// The words keyword search knows: one normalisation for the indexed text and for the query, so a name is
// found by each of its parts. PostgreSQL's text-search parser reads `bar-14066-0` as `bar`, `-14066`,
// `-0` (signed numbers) and `ISO-9001` or `v1.2` in ways of its own, and its idea of a letter depends on
// the database's locale; the read model therefore stores these words and the query matches them as they
// are (array_to_tsvector / a literal tsquery), never through the parser.

/** Longer runs are cut: a lexeme must stay far below PostgreSQL's 2 KB, and the query is cut alike. */
export const SEARCH_WORD_MAX = 100;

/**
 * The words of a text: maximal runs of letters (with their combining marks) and digits, in Unicode NFC,
 * lower-cased, each cut to SEARCH_WORD_MAX characters, in order of first appearance, without repeats.
 * Everything else (hyphens, dots, spaces, punctuation, symbols) separates words.
 */
export function searchWords(text: string): string[] {
  const words =
    text
      .normalize('NFC')
      .toLowerCase()
      .normalize('NFC')
      .match(/[\p{L}\p{N}][\p{L}\p{M}\p{N}]*/gu) ?? [];
  return [...new Set(words.map((word) => [...word].slice(0, SEARCH_WORD_MAX).join('')))];
}
