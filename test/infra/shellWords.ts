/**
 * The simple commands of a shell script, as word lists, for checking the commands the deploy
 * guides have their reader run: quotes removed, command substitutions ($(...), also inside double
 * quotes) read as commands of their own, pipelines, lists, loops, function bodies and
 * here-documents taken apart. A reader for the guides' scripts, not for the shell language: it
 * leaves parameter expansions in place as text ("$APP"), which is what the flags check needs.
 */

export interface SimpleCommand {
  words: string[];
  /** 1-based line of the command's first word within the script. */
  line: number;
}

const keywords = new Set([
  'for',
  'in',
  'do',
  'done',
  'if',
  'then',
  'elif',
  'else',
  'fi',
  'while',
  'until',
  'case',
  'esac',
  '{',
  '}',
  '!',
]);

export function simpleCommands(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let i = 0;
  let line = 1;
  let words: string[] = [];
  let word: string | undefined;
  let wordLine = 1;
  let commandLine = 1;
  let heredocs: string[] = [];

  const endWord = () => {
    if (word !== undefined) {
      if (words.length === 0) commandLine = wordLine;
      words.push(word);
    }
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    // Leading keywords, assignments (X=...) and a function definition's name (`out() {`).
    let w = words;
    while (w.length > 0 && (keywords.has(w[0]!) || /^[A-Za-z_]\w*=/.test(w[0]!) || /^\w+\(\)$/.test(w[0]!))) {
      if (w[0] === 'for')
        w = []; // for NAME in WORDS: no command
      else w = w.slice(1);
    }
    if (w[0] === 'export' || w[0] === 'local') w = [];
    if (w.length > 0) commands.push({ words: w, line: commandLine });
    words = [];
  };
  const append = (text: string) => {
    if (word === undefined) {
      word = '';
      wordLine = line;
    }
    word += text;
  };
  /** The text of a $(...) starting at `start` (after "$("), and the index after its ")". */
  const substitution = (start: number): [string, number] => {
    let depth = 1;
    let j = start;
    let quote: string | undefined;
    while (j < script.length) {
      const c = script[j]!;
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '\\') j++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
      j++;
    }
    return [script.slice(start, j), j + 1];
  };
  const nested = (text: string, at: number) => {
    for (const c of simpleCommands(text)) commands.push({ words: c.words, line: at + c.line - 1 });
  };

  while (i < script.length) {
    const c = script[i]!;
    if (c === '\\' && script[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === '\n') {
      endCommand();
      line++;
      i++;
      // here-document bodies follow the line that opens them
      for (const delimiter of heredocs) {
        while (i < script.length) {
          const end = script.indexOf('\n', i);
          const body = script.slice(i, end === -1 ? undefined : end);
          i = end === -1 ? script.length : end + 1;
          line++;
          if (body.trim() === delimiter) break;
        }
      }
      heredocs = [];
      continue;
    }
    if (word === undefined && c === '#') {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
      continue;
    }
    if (script.startsWith('<<', i)) {
      endWord();
      const m = /^<<-?\s*(['"]?)(\w+)\1/.exec(script.slice(i));
      if (m) {
        heredocs.push(m[2]!);
        i += m[0].length;
        continue;
      }
    }
    if (c === '|' || c === ';' || c === '&') {
      endCommand();
      i += script[i + 1] === c ? 2 : 1;
      continue;
    }
    if (c === '>' || c === '<') {
      // a redirection: its target is not a word of the command
      endWord();
      i++;
      if (script[i] === '>' || script[i] === '&') i++;
      while (script[i] === ' ') i++;
      const m = /^("[^"]*"|'[^']*'|[^\s;|&]+)/.exec(script.slice(i));
      i += m ? m[0].length : 0;
      continue;
    }
    if (c === "'") {
      const end = script.indexOf("'", i + 1);
      append(script.slice(i + 1, end));
      line += script.slice(i, end).split('\n').length - 1;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < script.length && script[j] !== '"') {
        if (script[j] === '\\') {
          text += script[j + 1] ?? '';
          j += 2;
        } else if (script.startsWith('$(', j)) {
          const [inner, next] = substitution(j + 2);
          nested(inner, line);
          text += `$(${inner})`;
          j = next;
        } else text += script[j++] ?? '';
      }
      append(text);
      line += script.slice(i, j).split('\n').length - 1;
      i = j + 1;
      continue;
    }
    if (script.startsWith('$(', i)) {
      const [inner, next] = substitution(i + 2);
      nested(inner, line);
      append(`$(${inner})`);
      i = next;
      continue;
    }
    if (c === '(' || c === ')') {
      // a subshell or a function's parentheses: "out()" stays one word
      if (c === '(' && script[i + 1] === ')') {
        append('()');
        i += 2;
        continue;
      }
      endCommand();
      i++;
      continue;
    }
    if (c === '\\') {
      append(script[i + 1] ?? '');
      i += 2;
      continue;
    }
    append(c);
    i++;
  }
  endCommand();
  return commands;
}
