/**
 * The shell blocks of a markdown document and the HTML comment markers that say what happens to them:
 *
 * - `<!-- quickstart: step "deploy" -->` (any `<doc>: step "<name>"`): a run marker. The block is a step
 *   that `run-doc.ts` executes, in document order, in one bash session;
 * - `<!-- not-run: <reason> -->`: the block is not executed by any test, for the reason given.
 *
 * A marker belongs to the fenced block that follows it: it is the last non-blank line before the opening
 * fence. Fences are CommonMark's: three or more backticks or tildes (up to 3 spaces of indentation),
 * closed by a fence of the same character at least as long; the info string's first word is the language.
 */

/**
 * The documents whose run-marked blocks a test executes, by the name their markers carry (a
 * `<!-- quickstart: step "..." -->` block runs in packages/testkit/test/docs/quickstart.test.ts), with
 * their path from the repository root. A run marker anywhere else would claim a test that does not exist.
 */
export const RUNNABLE_DOCS: Readonly<Record<string, string>> = { quickstart: "docs/QUICKSTART.md" };

/** Languages whose blocks are shell blocks (the ones a reader would paste into a terminal). */
export const SHELL_LANGUAGES: readonly string[] = ["sh", "bash", "shell"];

export type BlockMarker =
  | { readonly kind: "run"; readonly doc: string; readonly step: string; readonly line: number }
  | { readonly kind: "not-run"; readonly reason: string; readonly line: number };

export interface FencedBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** 1-based line of the closing fence (the last line when the block is not closed). */
  readonly endLine: number;
  /** The info string's first word, lower case ("" for none). */
  readonly lang: string;
  /** The lines between the fences, joined with "\n" (no trailing newline). */
  readonly code: string;
  /** The marker on the last non-blank line before the opening fence, if any. */
  readonly marker: BlockMarker | undefined;
}

/** A marked step of a runnable document. */
export interface DocStep {
  readonly name: string;
  /** Name before `: step` in the marker (e.g. `quickstart`). */
  readonly doc: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
}

const RUN_MARKER = /^\s*<!--\s*([A-Za-z0-9_.-]+)\s*:\s*step\s+"([^"]+)"\s*-->\s*$/;
const NOT_RUN_MARKER = /^\s*<!--\s*not-run\s*:\s*(.*?)\s*-->\s*$/;
const OPENING_FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)/;

/** Parses one line as a marker (`line` is its 1-based number). */
export function parseMarker(text: string, line: number): BlockMarker | undefined {
  const run = RUN_MARKER.exec(text);
  if (run !== null) return { kind: "run", doc: run[1] as string, step: run[2] as string, line };
  const notRun = NOT_RUN_MARKER.exec(text);
  if (notRun !== null) return { kind: "not-run", reason: notRun[1] as string, line };
  return undefined;
}

/** Every fenced code block of `markdown`, with its marker. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  let lastNonBlank: { text: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const open = OPENING_FENCE.exec(text);
    if (open === null) {
      if (text.trim() !== "") lastNonBlank = { text, line: i + 1 };
      continue;
    }
    const fence = open[2] as string;
    const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !closing.test(lines[j] as string)) body.push(lines[j++] as string);
    blocks.push({
      line: i + 1,
      endLine: Math.min(j + 1, lines.length),
      lang: (open[3] as string).toLowerCase(),
      code: body.join("\n"),
      marker: lastNonBlank === undefined ? undefined : parseMarker(lastNonBlank.text, lastNonBlank.line),
    });
    i = j;
    lastNonBlank = undefined;
  }
  return blocks;
}

/** The shell blocks of `markdown` (```sh, ```bash, ```shell). */
export function shellBlocks(markdown: string): FencedBlock[] {
  return fencedBlocks(markdown).filter((b) => SHELL_LANGUAGES.includes(b.lang));
}

/**
 * The run-marked steps of `markdown`, in order. Throws when a run marker is not followed by a shell
 * block, when two steps share a name, or (with `doc`) when a marker names another document.
 */
export function docSteps(markdown: string, options: { readonly doc?: string } = {}): DocStep[] {
  const steps: DocStep[] = [];
  const attached = new Set<number>();
  const blocks = fencedBlocks(markdown);
  for (const b of blocks) {
    const m = b.marker;
    if (m?.kind !== "run") continue;
    attached.add(m.line);
    if (!SHELL_LANGUAGES.includes(b.lang))
      throw new Error(`line ${m.line}: step "${m.step}" marks a \`\`\`${b.lang} block; only ${SHELL_LANGUAGES.join(", ")} blocks run`);
    if (options.doc !== undefined && m.doc !== options.doc)
      throw new Error(`line ${m.line}: step "${m.step}" is marked for "${m.doc}", expected "${options.doc}"`);
    if (steps.some((s) => s.name === m.step)) throw new Error(`line ${m.line}: a second step named "${m.step}"`);
    steps.push({ name: m.step, doc: m.doc, line: b.line, code: b.code });
  }
  // A run marker that no block follows would silently not run: refuse it.
  const inBlock = (line: number): boolean => blocks.some((b) => line >= b.line && line <= b.endLine);
  markdown.split(/\r?\n/).forEach((text, i) => {
    const m = parseMarker(text, i + 1);
    if (m?.kind === "run" && !attached.has(i + 1) && !inBlock(i + 1))
      throw new Error(`line ${i + 1}: step "${m.step}" is not followed by a fenced block`);
  });
  return steps;
}
