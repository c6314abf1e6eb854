/**
 * The kubelet's `$(VAR)` expansion (k8s.io/kubernetes/third_party/forked/golang/expansion), used
 * for env values, command, args and subPathExpr:
 * - `$(NAME)` becomes NAME's value when `lookup` knows it, and stays `$(NAME)` when it does not;
 * - `$$` is an escaped `$`, so `$$(NAME)` yields the literal `$(NAME)`;
 * - a `$` followed by anything else, an unterminated `$(` and a trailing `$` are kept as written.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    if (next === '$') {
      out += '$';
      cursor += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close === -1) {
        out += '$(';
        cursor += 1;
      } else {
        const name = input.slice(cursor + 2, close);
        out += lookup(name) ?? `$(${name})`;
        cursor = close;
      }
    } else {
      out += `$${next}`;
      cursor += 1;
    }
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
