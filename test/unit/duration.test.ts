import { parseDurationMs } from '../../src/domain/duration';
import { AppError } from '../../src/domain/errors';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['3d', 259_200_000],
    ['1.5s', 1_500],
    [' 2 H ', 7_200_000],
    ['PT12H', 43_200_000],
    ['P3D', 259_200_000],
    ['P1DT2H3M4S', 93_784_000],
    ['pt30s', 30_000],
  ])('when given %j, then it is %i ms', (raw, ms) => {
    expect(parseDurationMs(raw)).toBe(ms);
  });

  it.each([[undefined], [''], ['  '], ['none'], ['NONE'], ['0']])(
    'when given %j, then there is no duration (null)',
    (raw) => {
      expect(parseDurationMs(raw)).toBeNull();
    },
  );

  it.each([['soon'], ['30'], ['-5m'], ['5 minutes'], ['P'], ['PT'], ['3w'], ['P1H']])(
    'when given %j, then a neutral invalid_duration error names the value and how to write one',
    (raw) => {
      let thrown: unknown;
      try {
        parseDurationMs(raw);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({
        code: 'invalid_duration',
        message: `"${raw}" is not a duration; write it like 30s, 5m, 12h, 3d or P3D.`,
      });
    },
  );
});
