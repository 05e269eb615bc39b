// Reads a Mermaid diagram on stdin, parses it with Mermaid's own parser and prints what
// the parser understood as JSON: the vertices, the edges (with their linkStyle) and the
// subgraphs. A syntax error prints Mermaid's message on stderr and exits 1.
// Usage: node mermaid-structure.mjs TOOLS_DIR < diagram.mmd (TOOLS_DIR from
// scripts/node-tools.sh, which holds node_modules/mermaid).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(join(resolve(process.argv[2]), 'package.json'));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
// Mermaid sanitizes labels with DOMPurify, which needs a window.
const { JSDOM } = await load('jsdom');
const { window } = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await load('mermaid');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString('utf8');

// The text of a label as a reader sees it: Mermaid keeps entity codes (`#quot;`, `#35;`)
// as placeholders until it draws, then the browser decodes the HTML entities they become.
const decoded = (text) => {
  const area = window.document.createElement('textarea');
  area.innerHTML = text.replace(/ﬂ°°/g, '&#').replace(/ﬂ°/g, '&').replace(/¶ß/g, ';');
  return area.value;
};

mermaid.initialize({ startOnLoad: false });
try {
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db;
  const structure = {
    type: diagram.type,
    vertices: [...db.getVertices().values()].map((v) => ({ id: v.id, text: decoded(v.text), shape: v.type })),
    edges: db.getEdges().map((e) => ({
      start: e.start,
      end: e.end,
      text: decoded(e.text),
      stroke: e.stroke,
      style: e.style ?? [],
    })),
    subgraphs: db.getSubGraphs().map((s) => ({ id: s.id, title: decoded(s.title), nodes: s.nodes })),
  };
  console.log(JSON.stringify(structure));
} catch (error) {
  console.error(String(error?.message ?? error));
  process.exit(1);
}
