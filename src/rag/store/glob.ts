/**
 * Path globs of ChunkFilter.pathGlob as one regular expression that both JavaScript and PostgreSQL's
 * `~` operator (advanced regular expressions) read the same way, so every backend matches alike.
 *
 *   `*` any characters but `/`   `**` any characters, `/` included (`a/**\/b` also matches `a/b`)
 *   `?` one character but `/`    `[abc]`, `[a-z]`, `[!abc]` one character of (or not of) a set
 */

const SPECIAL = /[\\^$.|+(){}[\]*?]/;

/** The anchored regular-expression source of `glob`. */
export function globToRegExpSource(glob: string): string {
  let out = '^';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atSegmentStart = i === 0 || glob[i - 1] === '/';
        i += 2;
        if (atSegmentStart && glob[i] === '/') {
          // `**/` is zero or more whole segments.
          out += '(?:.*/)?';
          i += 1;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
        i += 1;
      }
    } else if (c === '?') {
      out += '[^/]';
      i += 1;
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        i += 1;
        continue;
      }
      let body = glob.slice(i + 1, end);
      let negate = false;
      if (body[0] === '!' || body[0] === '^') {
        negate = true;
        body = body.slice(1);
      }
      // Inside a set only `\`, `]` and `^` are special; `]` cannot occur here.
      body = body.replace(/[\\^]/g, (m) => '\\' + m);
      out += negate ? `[^/${body}]` : `[${body}]`;
      i = end + 1;
    } else {
      out += SPECIAL.test(c) ? '\\' + c : c;
      i += 1;
    }
  }
  return out + '$';
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(globToRegExpSource(glob), 'u');
}
