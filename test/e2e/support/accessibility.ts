import type { Page } from 'playwright-core';

/**
 * Colour arithmetic run inside the page (as source text: the project compiles without the DOM library).
 * WCAG 2.2 relative luminance and contrast ratio; `behind(element)` is the colour behind an element, its
 * ancestors' translucent backgrounds blended down to the first opaque one (white when none is).
 */
const COLOUR_HELPERS = String.raw`
  const parse = (color) => { const parts = (color.match(/[\d.]+/g) || []).map(Number); return { rgb: parts.slice(0, 3), alpha: parts.length > 3 ? parts[3] : 1 }; };
  const channel = (value) => { const v = value / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (rgb) => 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  const ratio = (a, b) => { const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x); return (high + 0.05) / (low + 0.05); };
  const over = (top, bottom) => top.rgb.map((value, i) => value * top.alpha + bottom[i] * (1 - top.alpha));
  const behind = (element) => {
    const layers = [];
    for (let current = element; current; current = current.parentElement) {
      const layer = parse(getComputedStyle(current).backgroundColor);
      if (layer.alpha > 0) layers.push(layer);
      if (layer.alpha === 1) break;
    }
    return layers.reduceRight((base, layer) => over(layer, base), [255, 255, 255]);
  };
  const shown = (element) => { const box = element.getBoundingClientRect(); return box.width > 1 && box.height > 1 && getComputedStyle(element).visibility !== 'hidden'; };
  const named = (element) => '<' + element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + (typeof element.className === 'string' && element.className ? '.' + element.className.replace(/ /g, '.') : '') + '> "' + (element.textContent || '').trim().slice(0, 40) + '"';
  const rgbText = (rgb) => 'rgb(' + rgb.map(Math.round).join(', ') + ')';
`;

/**
 * WCAG 2.2 contrast checks computed in the page from the styles Chromium applied. Each list names what falls
 * short, one line per element, so a failing test says where.
 */
export interface ContrastShortfalls {
  /** Text under 4.5:1 (3:1 when large: 24px, or 18.66px bold) against what is behind it (SC 1.4.3). */
  text: string[];
  /** Text fields whose border is under 3:1 against the page around them (SC 1.4.11). */
  fieldBorders: string[];
}

export function contrastShortfalls(page: Page): Promise<ContrastShortfalls> {
  return page.evaluate(`(() => {
    ${COLOUR_HELPERS}
    const text = [];
    for (const element of document.querySelectorAll('body *')) {
      if (!shown(element) || ![...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim())) continue;
      const style = getComputedStyle(element);
      const background = behind(element);
      const measured = ratio(over(parse(style.color), background), background);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
      if (measured < (large ? 3 : 4.5)) text.push(named(element) + ': ' + style.color + ' on ' + rgbText(background) + ' is ' + measured.toFixed(2) + ':1');
    }
    const fieldBorders = [];
    for (const field of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio])')) {
      if (!shown(field)) continue;
      const around = behind(field.parentElement);
      const border = getComputedStyle(field).borderTopColor;
      const measured = ratio(over(parse(border), around), around);
      if (measured < 3) fieldBorders.push(named(field) + ': border ' + border + ' on ' + rgbText(around) + ' is ' + measured.toFixed(2) + ':1');
    }
    return { text: [...new Set(text)], fieldBorders: [...new Set(fieldBorders)] };
  })()`);
}

/** The focused element's focus ring: shown at all (outline or box shadow), and an outline's contrast against the page behind it. */
const FOCUS_RING = `(() => {
  ${COLOUR_HELPERS}
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  if (!outlined) return { name: named(element), problem: style.boxShadow === 'none' ? 'no visible focus ring' : null };
  const around = behind(element.parentElement);
  const measured = ratio(over(parse(style.outlineColor), around), around);
  return { name: named(element), problem: measured < 3 ? 'focus ring ' + style.outlineColor + ' on ' + rgbText(around) + ' is ' + measured.toFixed(2) + ':1' : null };
})()`;

/**
 * Tabs through the page and lists each element whose focus ring does not show, or shows under 3:1 against
 * the page behind it (SC 2.4.7, 1.4.11). Stops when focus leaves the last element (it goes to the document).
 */
export async function focusRingShortfalls(page: Page, maximumStops = 40): Promise<string[]> {
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  const shortfalls: string[] = [];
  let visited = 0;
  for (let stop = 0; stop < maximumStops; stop += 1) {
    await page.keyboard.press('Tab');
    const ring = (await page.evaluate(FOCUS_RING)) as { name: string; problem: string | null } | null;
    if (!ring) {
      if (visited > 0) break;
      continue;
    }
    visited += 1;
    if (ring.problem) shortfalls.push(`${ring.name}: ${ring.problem}`);
  }
  return [...new Set(shortfalls)];
}
