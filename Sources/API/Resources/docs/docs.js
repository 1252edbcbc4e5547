// Renders /openapi.json for people: tags, operations (method, path, summary, auth), parameters,
// request and answer schemas with their examples. No framework, nothing from another origin.
"use strict";

(function () {
  const content = document.getElementById("content");
  const toc = document.getElementById("toc");

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // A description's `code` spans become <code>; everything else stays text.
  function prose(text) {
    const span = el("span", { class: "desc" });
    String(text || "").split(/(`[^`]*`)/).forEach((part) => {
      span.append(part.startsWith("`") && part.endsWith("`") && part.length > 1 ? el("code", {}, part.slice(1, -1)) : part);
    });
    return span;
  }

  function resolve(doc, schema) {
    if (schema && schema.$ref && schema.$ref.startsWith("#/components/schemas/")) {
      return doc.components.schemas[schema.$ref.slice("#/components/schemas/".length)] || {};
    }
    return schema || {};
  }

  function typeOf(schema) {
    if (!schema) return "any";
    if (schema.$ref) return schema.$ref.split("/").pop();
    const types = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
    let text = types || (schema.anyOf ? "any of" : schema.oneOf ? "one of" : schema.allOf ? "all of" : "any");
    if (schema.type === "array" || (Array.isArray(schema.type) && schema.type.includes("array"))) {
      text += " of " + typeOf(schema.items);
    }
    if (schema.format) text += " (" + schema.format + ")";
    if (schema.enum) text += ": " + schema.enum.join(", ");
    const bounds = [];
    if (schema.minimum !== undefined) bounds.push("≥ " + schema.minimum);
    if (schema.maximum !== undefined) bounds.push("≤ " + schema.maximum);
    if (schema.minLength !== undefined) bounds.push("length ≥ " + schema.minLength);
    if (schema.maxLength !== undefined) bounds.push("length ≤ " + schema.maxLength);
    if (schema.minItems !== undefined) bounds.push("items ≥ " + schema.minItems);
    if (schema.maxItems !== undefined) bounds.push("items ≤ " + schema.maxItems);
    if (schema.pattern) bounds.push("pattern " + schema.pattern);
    if (bounds.length) text += " [" + bounds.join(", ") + "]";
    return text;
  }

  // A schema as a nested list of properties, references expanded up to a few levels.
  function schemaTree(doc, schema, depth, seen) {
    const resolved = resolve(doc, schema);
    const list = el("ul");
    const variants = resolved.anyOf || resolved.oneOf;
    if (variants) {
      variants.forEach((variant, index) => {
        list.append(el("li", {}, el("span", { class: "type" }, "variant " + (index + 1) + ": " + typeOf(variant)),
          depth < 4 ? schemaTree(doc, variant, depth + 1, seen) : null));
      });
      return list;
    }
    let target = resolved;
    if (resolved.type === "array" && resolved.items) target = resolve(doc, resolved.items);
    const required = new Set(target.required || []);
    for (const [name, property] of Object.entries(target.properties || {})) {
      const item = el("li", {},
        el("span", { class: "prop" }, name), " ",
        el("span", { class: "type" }, typeOf(property)), " ",
        required.has(name) ? el("span", { class: "req" }, "required") : null, " ",
        property.description ? prose(property.description) : null);
      const ref = property.$ref || (property.items && property.items.$ref);
      const inner = resolve(doc, property.items || property);
      if (depth < 4 && (inner.properties || inner.anyOf || inner.oneOf) && !(ref && seen.has(ref))) {
        item.append(schemaTree(doc, property.items || property, depth + 1, new Set([...seen, ref])));
      }
      list.append(item);
    }
    return list;
  }

  function schemaBlock(doc, schema) {
    const resolved = resolve(doc, schema);
    return el("div", { class: "schema" },
      el("span", { class: "type" }, typeOf(schema)), " ", resolved.description ? prose(resolved.description) : null,
      schemaTree(doc, schema, 0, new Set(schema && schema.$ref ? [schema.$ref] : [])));
  }

  function example(value) {
    if (value === undefined) return null;
    return el("pre", {}, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }

  function authLabel(doc, operation) {
    const security = operation.security === undefined ? doc.security : operation.security;
    if (!security || security.length === 0) return "no auth";
    return security.map((requirement) => Object.keys(requirement).map((name) => {
      const scheme = (doc.components.securitySchemes || {})[name] || {};
      return scheme.type === "apiKey" ? scheme.name : scheme.scheme === "bearer" ? "Bearer team key" : name;
    }).join(" + ")).join(" or ");
  }

  function parameters(doc, pathItem, operation) {
    const all = [...(pathItem.parameters || []), ...(operation.parameters || [])];
    if (all.length === 0) return null;
    return [el("h4", {}, "Parameters"), el("table", {},
      el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "")),
      all.map((p) => el("tr", {},
        el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null),
        el("td", {}, p.in), el("td", {}, el("span", { class: "type" }, typeOf(p.schema))),
        el("td", {}, prose(p.description)))))];
  }

  function body(doc, operation) {
    const request = operation.requestBody;
    if (!request) return null;
    return [el("h4", {}, "Request body", request.required ? "" : " (optional)"), request.description ? prose(request.description) : null,
      Object.entries(request.content || {}).map(([type, media]) => el("div", {},
        el("code", {}, type), schemaBlock(doc, media.schema), example(media.example)))];
  }

  function answers(doc, operation) {
    return [el("h4", {}, "Answers"), Object.entries(operation.responses || {}).map(([status, response]) => {
      const media = Object.entries(response.content || {});
      const isError = media.length === 1 && media[0][1].schema && media[0][1].schema.$ref === "#/components/schemas/Error";
      return el("div", {},
        el("span", { class: "status s" + status[0] }, status), " ", prose(response.description),
        isError ? el("span", { class: "type" }, " → Error") :
          media.map(([type, m]) => el("div", {}, el("code", {}, type), schemaBlock(doc, m.schema), example(m.example))));
    })];
  }

  function render(doc) {
    document.getElementById("title").textContent = doc.info.title;
    document.getElementById("version").textContent = "OpenAPI " + doc.openapi + " · version " + doc.info.version;
    document.title = "API reference · " + doc.info.title;
    content.replaceChildren(el("p", {}, prose(doc.info.description)));
    toc.replaceChildren();
    const byTag = new Map((doc.tags || []).map((tag) => [tag.name, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of ["get", "post", "put", "patch", "delete"]) {
        const operation = item[method];
        if (!operation) continue;
        const tag = (operation.tags || ["Other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push({ path, method, item, operation });
      }
    }
    const tagInfo = new Map((doc.tags || []).map((tag) => [tag.name, tag]));
    for (const [tag, operations] of byTag) {
      if (operations.length === 0) continue;
      const id = "tag-" + tag.replace(/[^A-Za-z0-9]+/g, "-");
      toc.append(el("h3", {}, tag));
      const section = el("section", { class: "tag", id },
        el("h2", {}, tag), tagInfo.get(tag) ? prose(tagInfo.get(tag).description) : null);
      for (const { path, method, item, operation } of operations) {
        const opID = operation.operationId || method + path;
        toc.append(el("a", { href: "#" + opID, title: method.toUpperCase() + " " + path }, method.toUpperCase() + " " + path));
        section.append(el("details", { class: "op", id: opID },
          el("summary", {},
            el("span", { class: "method m-" + method }, method.toUpperCase()),
            el("span", { class: "path" }, path), " ", el("span", {}, operation.summary || ""),
            el("span", { class: "auth" }, authLabel(doc, operation))),
          el("div", { class: "body" },
            operation.description ? el("p", {}, prose(operation.description)) : null,
            parameters(doc, item, operation), body(doc, operation), answers(doc, operation))));
      }
      content.append(section);
    }
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) { target.open = true; target.scrollIntoView(); }
    }
  }

  fetch("/openapi.json")
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(render)
    .catch((error) => {
      content.replaceChildren(el("p", { class: "note" }, "Could not load ", el("a", { href: "/openapi.json" }, "/openapi.json"), ": " + error.message));
    });
})();
