/**
 * Six-field NCRONTAB ("sec min hour day month weekday", UTC), as Azure Functions timer triggers
 * use it. Supports `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists.
 */
const fieldRanges = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
] as const;

export interface Schedule {
  /** The first firing time strictly after `afterMs`. */
  next(afterMs: number): number;
}

export function parseSchedule(expression: string): Schedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6)
    throw new Error(`schedule "${expression}" must have six fields (sec min hour day month weekday)`);
  const sets = fields.map((field, i) =>
    parseField(field, fieldRanges[i]![0], fieldRanges[i]![1], expression),
  );
  const [sec, min, hour, day, month, weekday] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    next(afterMs) {
      let t = Math.floor(afterMs / 1000) * 1000 + 1000;
      // A year of seconds bounds the search; every valid schedule fires well within it.
      for (let steps = 0; steps < 400 * 24 * 3600; steps++) {
        const d = new Date(t);
        if (
          month.has(d.getUTCMonth() + 1) &&
          day.has(d.getUTCDate()) &&
          weekday.has(d.getUTCDay()) &&
          hour.has(d.getUTCHours()) &&
          min.has(d.getUTCMinutes()) &&
          sec.has(d.getUTCSeconds())
        ) {
          return t;
        }
        t += 1000;
      }
      throw new Error(`schedule "${expression}" never fires`);
    },
  };
}

function parseField(field: string, lo: number, hi: number, expression: string): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const bounds = range === '*' ? [lo, hi] : range.split('-').map(Number);
    const from = bounds[0];
    const to = bounds[1] ?? (stepText === undefined ? from : hi);
    if (
      from === undefined ||
      to === undefined ||
      !Number.isInteger(from) ||
      !Number.isInteger(to) ||
      !Number.isInteger(step) ||
      step < 1 ||
      from < lo ||
      to > hi ||
      from > to
    ) {
      throw new Error(`schedule "${expression}": bad field "${field}"`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}
