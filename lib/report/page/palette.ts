/**
 * The page's colours. Every series colour keeps at least 3:1 against the white background (WCAG 2.1, 1.4.11
 * non-text contrast) and every text colour at least 4.5:1 against the background it is drawn on (1.4.3); a test
 * checks each pair with {@link contrastRatio}.
 */
export const COLORS = {
  background: '#ffffff',
  text: '#1b1b1b',
  muted: '#4d4d4d',
  border: '#8a8a8a',
  panel: '#f3f4f6',
  added: '#0a6b2f',
  removed: '#a4001d',
  changed: '#7a4300',
  bad: '#a4001d',
  badBackground: '#fde8ea',
  good: '#0a6b2f',
  goodBackground: '#e6f4ea',
  link: '#0b57b0',
} as const;

/** Series colours (Okabe-Ito hues, darkened to 3:1 or more against white), in the order series take them. */
export const SERIES = ['#0b57b0', '#b3470b', '#0a7554', '#8b3a86', '#8a6400', '#1f7a99', '#b8235a', '#5a5a5a'] as const;

/** Text colours and the backgrounds they are drawn on, as the page uses them. */
export const TEXT_PAIRS: readonly (readonly [string, string])[] = [
  [COLORS.text, COLORS.background],
  [COLORS.muted, COLORS.background],
  [COLORS.text, COLORS.panel],
  [COLORS.muted, COLORS.panel],
  [COLORS.added, COLORS.panel],
  [COLORS.removed, COLORS.panel],
  [COLORS.changed, COLORS.panel],
  [COLORS.bad, COLORS.badBackground],
  [COLORS.good, COLORS.goodBackground],
  [COLORS.link, COLORS.background],
  [COLORS.link, COLORS.panel],
  [COLORS.background, COLORS.bad],
];

function luminance(hex: string): number {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(m[1].slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The WCAG 2.1 contrast ratio of two `#rrggbb` colours, from 1 to 21. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
