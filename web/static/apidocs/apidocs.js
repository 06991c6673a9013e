// The API reference (/api.html): the OpenAPI document at /api, rendered with DOM calls only
// (no innerHTML, no inline code), so the page runs under the server's strict CSP and offline.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const METHODS = ["get", "head", "post", "put", "patch", "delete", "options"];

function resolve(doc, obj) {
  let node = obj;
  for (let i = 0; node && node.$ref && i < 10; i += 1) {
    node = node.$ref.replace(/^#\//, "").split("/").reduce((o, k) => (o ? o[k] : undefined), doc);
  }
  return node || {};
}

function typeOf(doc, schema) {
  const s = resolve(doc, schema);
  if (s.anyOf) return s.anyOf.map((x) => typeOf(doc, x)).join(" | ");
  if (s.type === "array") return `array of ${typeOf(doc, s.items)}`;
  if (schema && schema.$ref) return schema.$ref.split("/").pop();
  return s.enum ? `${s.type || ""} (${s.enum.join(", ")})` : (s.type || "any");
}

function parameters(doc, params) {
  if (!params.length) return [];
  const rows = params.map((p0) => {
    const p = resolve(doc, p0);
    return el("tr", {},
      el("td", {}, el("code", { text: p.name }), p.required ? el("span", { class: "required", text: " *" }) : ""),
      el("td", { text: p.in }), el("td", { text: typeOf(doc, p.schema) }),
      el("td", { text: p.description || "" }));
  });
  return [el("table", {}, el("thead", {}, el("tr", {}, ...["Parameter", "In", "Type", "Description"]
    .map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, ...rows))];
}

function operation(doc, path, method, op) {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, "-");
  const body = op.requestBody ? resolve(doc, op.requestBody) : null;
  const responses = Object.entries(op.responses || {}).map(([status, r]) =>
    el("li", {}, el("code", { text: status }), ` ${resolve(doc, r).description || ""}`));
  return el("section", { class: "op", id },
    el("h3", {}, el("span", { class: "method", text: method.toUpperCase() }), el("span", { class: "path", text: path })),
    el("p", { text: op.summary || "" }),
    ...(op.description ? [el("p", { class: "note", text: op.description })] : []),
    ...parameters(doc, op.parameters || []),
    ...(body ? [el("p", { text: `Body: ${Object.keys(body.content || {}).join(", ")}` })] : []),
    el("ul", {}, ...responses));
}

async function main() {
  const doc = await (await fetch("api", { headers: { Accept: "application/json" } })).json();
  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  document.getElementById("summary").textContent = doc.info.description || "";
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(doc, path, method, item[method]));
    }
  }
  const main_ = document.getElementById("operations");
  const toc = el("ul");
  for (const [tag, ops] of byTag) {
    const anchor = `tag-${tag.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
    toc.append(el("li", {}, el("a", { href: `#${anchor}`, text: `${tag} (${ops.length})` })));
    main_.append(el("h2", { id: anchor, text: tag }), ...ops);
  }
  document.getElementById("toc").append(toc);
  document.body.dataset.ready = "1";
}

main().catch((error) => {
  document.getElementById("operations").append(el("p", { role: "alert", text: `The API description could not be read: ${error}` }));
  document.body.dataset.ready = "error";
});
