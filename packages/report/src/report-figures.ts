/**
 * The report's figures in page order. Each builder returns nothing when the sweep holds no data
 * for it, so a sweep gets exactly the plots its data supports.
 */
import { errorCurvesFigure, probeOutputsFigure } from './dynamics-figures';
import type { Figure } from './figure';
import { gradientSharesFigure } from './gradient-shares-figure';
import { learningTimeFigure } from './learning-time-figure';
import { lossComparisonFigure } from './loss-comparison-figure';
import { phaseDiagramFigure } from './phase-diagram-figure';
import type { ReportData } from './report-data';
import { starvationFigure } from './starvation-figure';

/** Every figure the data supports, in page order. */
export function reportFigures(d: ReportData): Figure[] {
  const builders: ((d: ReportData) => Figure | undefined)[] = [
    errorCurvesFigure,
    probeOutputsFigure,
    gradientSharesFigure,
    (x) => learningTimeFigure(x, 'norm'),
    (x) => learningTimeFigure(x, 'frequency'),
    phaseDiagramFigure,
    lossComparisonFigure,
    starvationFigure,
  ];
  return builders.map((b) => b(d)).filter((f): f is Figure => f !== undefined);
}
