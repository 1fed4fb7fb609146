/**
 * The sigmoid in log time that the learning-curve analyzer fits: the papers' training error and
 * outputs move from one plateau to another along a logistic curve in ln(step), so four numbers
 * describe a whole curve and the report can redraw a fit from a finding's evidence alone.
 */

/** A logistic curve in ln(step): value `start` long before `learningTime`, `end` long after. */
export interface LogSigmoid {
  /** Step of the half-way point (the learning time). */
  learningTime: number;
  /** Width of the transition in ln(step) units (1 = the value moves 73% of the way over a factor e). */
  width: number;
  /** Plateau before the transition. */
  start: number;
  /** Plateau after the transition. */
  end: number;
}

/** A fit as a finding may give it: the plateaus are optional (the plot then takes the curve's ends). */
export type FittedSigmoid = Omit<LogSigmoid, 'start' | 'end'> &
  Partial<Pick<LogSigmoid, 'start' | 'end'>>;

/** The curve's value at `step`: end + (start - end) / (1 + exp((ln step - ln learningTime) / width)). */
export function logSigmoidAt(s: LogSigmoid, step: number): number {
  const z = (Math.log(step) - Math.log(s.learningTime)) / s.width;
  return s.end + (s.start - s.end) / (1 + Math.exp(z));
}

/** `points` steps spread evenly in ln(step) over [from, to] (both > 0), for drawing a curve. */
export function logSpace(from: number, to: number, points: number): number[] {
  if (points < 2 || from === to) return [from];
  const a = Math.log(from);
  const b = Math.log(to);
  return Array.from({ length: points }, (_, k) => Math.exp(a + ((b - a) * k) / (points - 1)));
}
