// Picks the page module named by the server (body[data-page]) and draws it into <main>.
import { api } from "./api.js";
import { main } from "./dom.js";
import { errorView } from "./views.js";

const PAGES = new Set(["experiments", "runs", "run", "compare", "models", "model", "data", "dataset", "pipelines", "pipeline"]);

async function start() {
  const page = document.body.dataset.page;
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav.split(" ").includes(page)) link.classList.add("active");
  }
  showUser();
  try {
    if (!PAGES.has(page)) throw new Error(`unknown page ${page}`);
    const module = await import(`./pages/${page}.js`);
    await module.render(main());
  } catch (err) {
    main().append(errorView(err));
  }
}

async function showUser() {
  // Only a server with --auth has users; without it this call is a 404 and nothing is shown.
  try {
    const who = await fetch("/api/v1/auth/whoami", { headers: { Accept: "application/json" } });
    if (!who.ok) return;
    const body = await who.json();
    if (body && body.user) document.getElementById("whoami").textContent = `signed in as ${body.user}`;
  } catch (_) {
    /* not shown */
  }
}

start();
