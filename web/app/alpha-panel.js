// Step 5: the α slider re-ranks a finished job's candidates in the browser, with the selection's own maths
// (dist/scoring/selection.js and dist/serve/web-alpha-ranking.js, served at /app/lib/), and shows where the winner changes.
import { zScore } from '/app/lib/scoring/selection.js';
import { alphaBreakpoints, alphaSegments, rankCandidates, winnerAt } from '/app/lib/serve/web-alpha-ranking.js';
import { $, el } from './dom.js';

let candidates = [];
let markWinner = () => {};

const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** Show the panel for these candidates ({ index, weights, dp, dt, finished }); `onWinner(index)` outlines the winner's tile. */
export function showAlphaPanel(list, alpha, onWinner) {
  candidates = list;
  markWinner = onWinner;
  const panel = $('alpha-panel');
  panel.hidden = false;
  const slider = $('alpha-slider');
  slider.value = String(alpha);
  slider.oninput = () => update(Number(slider.value));
  const breakpoints = alphaBreakpoints(candidates);
  $('alpha-ticks').replaceChildren(...breakpoints.map((b) => el('option', { value: fmt(b.alpha, 4) })));
  $('alpha-breakpoints').replaceChildren(
    ...(breakpoints.length
      ? breakpoints.map((b, k) =>
          el('span', { class: 'breakpoint', 'data-alpha': String(b.alpha) }, `${k ? ', ' : ''}α = ${fmt(b.alpha, 4)} (candidate ${b.from} → ${b.to})`),
        )
      : ['nowhere: one candidate wins for every α']),
  );
  $('alpha-segments').replaceChildren(
    ...alphaSegments(candidates).map((s) => {
      const span = el('span', { class: `segment c${s.winner % 6}`, title: `α ${fmt(s.from)}–${fmt(s.to)}: candidate ${s.winner}` }, `#${s.winner}`);
      // Set through the CSSOM: the page's Content-Security-Policy allows no inline style attributes.
      span.style.width = `${(100 * (s.to - s.from)).toFixed(3)}%`;
      return span;
    }),
  );
  update(alpha);
}

export function hideAlphaPanel() {
  $('alpha-panel').hidden = true;
  candidates = [];
}

function update(alpha) {
  if (!candidates.length) return;
  const winner = winnerAt(candidates, alpha);
  const order = rankCandidates(candidates, alpha);
  // The job's own α (2/3 by default) is not a slider stop: show it with four decimals, the stops with two.
  const shown = Math.abs(alpha * 100 - Math.round(alpha * 100)) < 1e-9 ? alpha.toFixed(2) : alpha.toFixed(4);
  $('alpha-value').textContent = shown;
  $('alpha-winner').textContent = `Winner at α = ${shown}: candidate ${winner}`;
  $('alpha-panel').dataset.winner = String(winner);
  $('scores')
    .querySelector('tbody')
    .replaceChildren(
      ...order.map((i, rank) => {
        const c = candidates[i];
        return el(
          'tr',
          { class: i === winner ? 'winner' : c.finished === false ? 'dropped' : undefined, 'data-candidate': String(i) },
          el('td', {}, String(rank + 1)),
          el('th', { scope: 'row' }, `${i}${i === winner ? ' (winner)' : ''}${c.finished === false ? ' (stopped early)' : ''}`),
          el('td', {}, fmt(c.weights.preference, 2)),
          el('td', {}, fmt(c.weights.target, 2)),
          el('td', {}, fmt(c.dp, 2)),
          el('td', {}, fmt(c.dt, 2)),
          el('td', {}, fmt(zScore(c.dp, c.dt, alpha), 4)),
        );
      }),
    );
  markWinner(winner, alpha);
}
