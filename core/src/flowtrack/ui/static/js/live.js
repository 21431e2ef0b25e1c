// A RUNNING run's page follows the run: every few seconds (only while the tab is shown) it asks
// for the run again; onTick redraws what changed (returning true ends the following: the page
// was drawn anew and follows by itself), onEnd runs once when the run has ended.
import { api, enc } from "./api.js";

export function followRun(runId, { onTick, onEnd }) {
  const every = window.flowtrackLiveMs || 5000; // tests set it shorter
  let timer = null;
  const tick = async () => {
    if (!document.hidden) {
      try {
        const run = await api(`/api/v1/runs/${enc(runId)}`);
        if (run.info.status !== "RUNNING") {
          onEnd(run);
          return;
        }
        if (await onTick(run)) return;
      } catch (_) {
        // A missed tick (server restarting, network): the next one tries again.
      }
    }
    timer = setTimeout(tick, every);
  };
  timer = setTimeout(tick, every);
  addEventListener("pagehide", () => clearTimeout(timer), { once: true });
}
