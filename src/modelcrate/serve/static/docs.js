// The docs page of a served model: its variables from v1/variables as tables and as a form,
// evaluated through v1/evaluate, the outputs shown as numbers, pictures and plots.
// Whatever comes from the model (names, descriptions, units, values) reaches the page as text
// (textContent, attributes), never as HTML.

const TOKEN_KEY = "modelcrate-serve-token";
const SVG = "http://www.w3.org/2000/svg";
const KINDS = {
  ScalarVariable: "scalar", IntVariable: "int", BoolVariable: "bool", StrVariable: "str",
  EnumVariable: "enum", NDVariable: "array", ImageVariable: "image",
  DistributionVariable: "distribution",
};
const POLICIES = { error: "refused outside", warn: "warns outside", none: "not checked" };
// viridis, at nine evenly spaced stops
const COLOURS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

const $ = (id) => document.getElementById(id);
let fields = [];  // one per input: {name, read()}
let outputs = [];  // [name, variable document], in the spec's order

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined && text !== null) made.textContent = String(text);
  if (className) made.className = className;
  return made;
}

function svgElement(tag, attributes) {
  const made = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, String(value));
  return made;
}

// -- talking to the server ------------------------------------------------------------------

class Refused extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

async function call(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let answer;
  try {
    answer = await fetch(path, { ...init, headers, cache: "no-store" });
  } catch (error) {
    throw new Refused(0, `the server did not answer (${error.message})`);
  }
  let body = null;
  try {
    body = await answer.json();
  } catch {
    body = null;  // not JSON: a proxy's page, say
  }
  if (!answer.ok) {
    const reason = body && typeof body.error === "string" ? body.error : `HTTP ${answer.status}`;
    throw new Refused(answer.status, reason);
  }
  return body;
}

// The token's form: shown when the server asks for one, or while one is kept (to forget it).
function showTokenForm(refused) {
  const kept = Boolean(sessionStorage.getItem(TOKEN_KEY));
  $("token-form").hidden = !refused && !kept;
  $("token-forget").hidden = !kept;
  $("token-message").textContent = refused && kept
    ? "the server refused this token; give the one in MODELCRATE_SERVE_TOKEN where it runs"
    : "";
  if (refused) $("token-input").focus();
}

async function load() {
  $("load-error").hidden = true;
  let about;
  try {
    about = await call("v1/variables");
  } catch (error) {
    if (error.status === 401) {
      $("model").hidden = true;
      showTokenForm(true);
      return;
    }
    $("load-error").textContent = `The model's variables could not be read: ${error.message}`;
    $("load-error").hidden = false;
    return;
  }
  showTokenForm(false);
  show(about);
}

// -- the model and its variables -----------------------------------------------------------

function show(about) {
  const spec = about.variables || {};
  document.title = `${about.name} ${about.version}`;
  $("model-name").textContent = about.name;
  $("model-version").textContent = about.version;
  $("model-description").textContent = about.description || "";
  const inputs = Object.entries(spec.input_variables || {});
  outputs = Object.entries(spec.output_variables || {});
  fillTable($("inputs-table"), inputs, true);
  fillTable($("outputs-table"), outputs, false);
  const place = $("fields");
  place.replaceChildren();
  fields = inputs.map(([name, variable], i) => makeField(place, name, variable, `input-${i}`));
  $("model").hidden = false;
}

function kindOf(variable) {
  return KINDS[variable.variable_class] || "other";
}

function typeText(variable) {
  const kind = kindOf(variable);
  let text = kind;
  if (kind === "array" || kind === "image") text += ` of ${variable.dtype || "float64"}`;
  if (kind === "enum") text += `: ${(variable.choices || []).map(String).join(", ")}`;
  if (kind === "distribution") text += ` (${variable.distribution_type})`;
  if (variable.read_only) text += ", read-only";
  return text;
}

function numberText(value) {
  return { Infinity: "∞", "-Infinity": "−∞" }[value] ?? String(value);
}

function rangeText(variable) {
  const range = variable.value_range;
  if (!Array.isArray(range)) return "";
  const policy = POLICIES[variable.default_validation_config] || "";
  return `[${numberText(range[0])}, ${numberText(range[1])}]${policy ? `, ${policy}` : ""}`;
}

function shapeText(shape) {
  return Array.isArray(shape) ? shape.map((n) => (n === null ? "any" : n)).join(" × ") : "";
}

function short(value, width = 80) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function fillTable(table, variables, inputs) {
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const [name, variable] of variables) {
    const row = body.insertRow();
    row.append(element("td", name, "name"));
    row.append(element("td", typeText(variable)));
    row.append(element("td", variable.unit || ""));
    const given = "default_value" in variable;
    row.append(element("td", given ? short(variable.default_value) : inputs ? "required" : ""));
    row.append(element("td", rangeText(variable)));
    row.append(element("td", shapeText(variable.shape)));
    row.append(element("td", variable.description || "", "description"));
  }
}

// -- the form ------------------------------------------------------------------------------

function formatJSON(value) {
  if (Array.isArray(value) && value.length && value.every(Array.isArray)) {
    return `[\n${value.map((row) => `  ${JSON.stringify(row)}`).join(",\n")}\n]`;
  }
  return JSON.stringify(value);
}

function makeField(place, name, variable, id) {
  const kind = kindOf(variable);
  const given = "default_value" in variable;
  const fallback = variable.default_value;
  const box = element("div", null, "field");
  const label = element("label", name);
  label.htmlFor = id;
  if (variable.unit) label.append(" ", element("span", `(${variable.unit})`, "unit"));
  if (variable.description) label.title = variable.description;
  let control;
  let read;
  if (kind === "bool") {
    control = element("input");
    control.type = "checkbox";
    control.checked = control.defaultChecked = fallback === true;
    read = () => control.checked;
  } else if (kind === "enum") {
    control = element("select");
    const choices = variable.choices || [];
    if (!given) control.append(element("option", "(choose one)"));
    choices.forEach((choice, i) => {
      const option = element("option", String(choice));
      option.value = String(i);
      option.selected = option.defaultSelected = given && choice === fallback;
      control.append(option);
    });
    read = () => (control.value === "" ? undefined : choices[Number(control.value)]);
  } else if (kind === "scalar" || kind === "int") {
    control = element("input");
    control.type = "number";
    control.step = kind === "int" ? "1" : "any";
    control.value = control.defaultValue = given ? String(fallback) : "";
    read = () => {
      if (control.validity.badInput) throw new Error(`${name}: expects a number`);
      return control.value === "" ? undefined : Number(control.value);
    };
  } else if (kind === "str") {
    control = element("input");
    control.type = "text";
    control.value = control.defaultValue = given ? String(fallback) : "";
    read = () => (control.value === "" && !given ? undefined : control.value);
  } else {  // arrays, images, distributions and what this page does not know: JSON
    control = element("textarea");
    control.value = control.defaultValue = given ? formatJSON(fallback) : "";
    control.rows = Math.min(12, Math.max(2, control.value.split("\n").length));
    control.spellcheck = false;
    read = () => {
      if (control.value.trim() === "") return undefined;
      try {
        return JSON.parse(control.value);
      } catch (error) {
        throw new Error(`${name}: not valid JSON (${error.message})`);
      }
    };
  }
  control.id = id;
  control.name = id;
  if (variable.read_only) {
    control.disabled = true;
    read = () => undefined;  // the server takes its default
  }
  const hint = [typeText(variable), rangeText(variable), given ? "" : "required"];
  box.append(label, control, element("span", hint.filter(Boolean).join("; "), "hint"));
  place.append(box);
  return { name, read };
}

async function evaluate(event) {
  event.preventDefault();
  const error = $("evaluate-error");
  const status = $("evaluate-status");
  error.textContent = "";
  status.textContent = "";
  let inputs;
  try {
    inputs = Object.fromEntries(
      fields.map((field) => [field.name, field.read()]).filter(([, value]) => value !== undefined),
    );
  } catch (refused) {
    error.textContent = refused.message;
    return;
  }
  const button = $("evaluate-button");
  button.disabled = true;
  status.textContent = "Evaluating…";
  const began = performance.now();
  try {
    const answer = await call("v1/evaluate", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs }),
    });
    showOutputs(answer);
    status.textContent = `Evaluated in ${Math.round(performance.now() - began)} ms`;
  } catch (refused) {
    status.textContent = "";
    $("results").hidden = true;
    error.textContent = refused.message;
    if (refused.status === 401) showTokenForm(true);
  } finally {
    button.disabled = false;
  }
}

// -- the outputs ---------------------------------------------------------------------------

function showOutputs(answer) {
  const values = answer.outputs || {};
  const warnings = $("warnings");
  warnings.replaceChildren(...(answer.warnings || []).map((text) => element("li", text)));
  const body = $("scalar-outputs").tBodies[0];
  body.replaceChildren();
  const figures = $("figures");
  figures.replaceChildren();
  for (const [name, variable] of outputs) {
    if (!Object.hasOwn(values, name)) continue;
    const value = values[name];
    const kind = kindOf(variable);
    if (kind === "image" || kind === "array" || kind === "distribution") {
      figures.append(figure(name, variable, kind, value));
    } else {
      const row = body.insertRow();
      row.dataset.output = name;
      row.append(element("td", name, "name"), element("td", String(value), "value"));
      row.append(element("td", variable.unit || ""));
    }
  }
  $("scalar-outputs").hidden = body.rows.length === 0;
  $("results").hidden = false;
}

function shapeOf(value) {
  const shape = [];
  for (let part = value; Array.isArray(part); part = part[0]) shape.push(part.length);
  return shape;
}

function asNumber(value) {
  if (typeof value === "number") return value;
  return { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity }[value] ?? NaN;
}

function numeric(value) {
  return Array.isArray(value)
    ? value.every(numeric)
    : typeof value === "number" || ["NaN", "Infinity", "-Infinity"].includes(value);
}

function figure(name, variable, kind, value) {
  const box = element("figure", null, "output");
  box.dataset.output = name;
  const shape = shapeOf(value);
  const caption = element("figcaption");
  caption.append(element("span", name, "name"));
  if (variable.unit) caption.append(` (${variable.unit})`);
  if (shape.length) caption.append(`, ${shape.join(" × ")}`);
  let drawn = null;
  if (kind !== "distribution" && numeric(value)) {
    if (shape.length === 1 && shape[0] > 0) drawn = plot(value.map(asNumber), name);
    else if (shape.length === 2 && shape[0] > 0 && shape[1] > 0) drawn = heatMap(value, null);
    else if (kind === "image" && shape.length === 3 && [1, 3, 4].includes(shape[2])) {
      drawn = heatMap(value, shape[2]);
    }
  }
  box.append(caption);
  if (drawn) {
    box.append(drawn.picture);
    if (drawn.legend) box.append(drawn.legend);
    if (kind === "image") {
      const extents = imageExtents(variable);
      if (extents) box.append(element("p", extents, "extents"));
    }
  }
  const raw = element("details");
  raw.append(element("summary", "values"), element("pre", short(value, 20000)));
  raw.open = !drawn;
  box.append(raw);
  return box;
}

function imageExtents(variable) {
  const units = variable.axis_units || ["", ""];
  const axis = (label, fallback, lo, hi, unit) => {
    if (lo === undefined || hi === undefined) return "";
    return `${label || fallback} from ${lo} to ${hi}${unit ? ` ${unit}` : ""}`;
  };
  const parts = [
    axis(variable.x_label, "x", variable.x_min, variable.x_max, units[0]),
    axis(variable.y_label, "y", variable.y_min, variable.y_max, units[1]),
  ];
  return parts.filter(Boolean).join("; ");
}

function finiteRange(numbers) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of numbers) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

function rounded(number) {
  return Number(number.toPrecision(4));
}

function colour(t) {
  const at = Math.min(Math.max(t, 0), 1) * (COLOURS.length - 1);
  const i = Math.min(Math.floor(at), COLOURS.length - 2);
  const f = at - i;
  return COLOURS[i].map((c, k) => Math.round(c + f * (COLOURS[i + 1][k] - c)));
}

// A 2-D array as a picture in the colour map (rows top to bottom), or with `channels` (1, 3
// or 4) as grey, RGB or RGBA; NaN is transparent. Returns the canvas and a colour bar.
function heatMap(rows, channels) {
  const height = rows.length;
  const width = rows[0].length;
  const flat = rows.flat(channels ? 2 : 1).map(asNumber);
  const [lo, hi] = finiteRange(flat);
  const canvas = element("canvas", null, "picture");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const per = channels || 1;
  // colour channels as given if they are 0-1 or 0-255, else stretched; one value: the map
  const scale = lo >= 0 && hi <= 1 ? 255 : lo >= 0 && hi <= 255 ? 1 : null;
  for (let p = 0; p < width * height; p++) {
    const values = flat.slice(p * per, p * per + per);
    let rgba;
    if (values.some((v) => !Number.isFinite(v))) rgba = [0, 0, 0, 0];
    else if (per === 1 && !channels) rgba = [...colour(hi > lo ? (values[0] - lo) / (hi - lo) : 0.5), 255];
    else {
      const level = values.map((v) => (scale ? v * scale : hi > lo ? ((v - lo) / (hi - lo)) * 255 : 128));
      rgba = per === 1 ? [level[0], level[0], level[0], 255] : [...level.slice(0, 3), per === 4 ? level[3] : 255];
    }
    image.data.set(rgba.map(Math.round), p * 4);
  }
  context.putImageData(image, 0, 0);
  const legend = element("p", null, "legend");
  if (!channels) {
    const bar = element("canvas", null, "colour-bar");
    bar.width = 256;
    bar.height = 1;
    const barContext = bar.getContext("2d");
    const barImage = barContext.createImageData(256, 1);
    for (let i = 0; i < 256; i++) barImage.data.set([...colour(i / 255), 255], i * 4);
    barContext.putImageData(barImage, 0, 0);
    legend.append(element("span", rounded(lo)), bar, element("span", rounded(hi)));
  } else {
    legend.append(`values from ${rounded(lo)} to ${rounded(hi)}`);
  }
  return { picture: canvas, legend };
}

// A 1-D array as a line plot in SVG: index across, value up; NaN and infinities break the line.
function plot(numbers, name) {
  const [width, height, left, right, top, bottom] = [480, 200, 64, 12, 12, 28];
  let [lo, hi] = finiteRange(numbers);
  if (lo === hi) [lo, hi] = [lo - (Math.abs(lo) || 1) / 2, hi + (Math.abs(hi) || 1) / 2];
  const n = numbers.length;
  const x = (i) => left + (n === 1 ? 0.5 : i / (n - 1)) * (width - left - right);
  const y = (v) => top + ((hi - v) / (hi - lo)) * (height - top - bottom);
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "plot", role: "img" });
  svg.setAttribute("aria-label", `${name}: ${n} values from ${lo} to ${hi}`);
  svg.append(svgElement("rect", {
    x: left, y: top, width: width - left - right, height: height - top - bottom, class: "frame",
  }));
  let d = "";
  let pen = "M";
  numbers.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = "M";
      return;
    }
    d += `${pen}${x(i).toFixed(2)} ${y(v).toFixed(2)} `;
    if (n === 1) d += `L${x(i).toFixed(2)} ${y(v).toFixed(2)} `;
    pen = "L";
  });
  svg.append(svgElement("path", { d: d.trim(), class: "line" }));
  const label = (text, attributes) => {
    const made = svgElement("text", attributes);
    made.textContent = String(text);
    svg.append(made);
  };
  label(rounded(hi), { x: left - 6, y: top + 4, class: "tick end" });
  label(rounded(lo), { x: left - 6, y: height - bottom, class: "tick end" });
  label(0, { x: left, y: height - 8, class: "tick" });
  label(n - 1, { x: width - right, y: height - 8, class: "tick end" });
  return { picture: svg, legend: null };
}

// -- wiring --------------------------------------------------------------------------------

$("evaluate-form").addEventListener("submit", evaluate);
$("evaluate-form").addEventListener("reset", () => {
  $("evaluate-error").textContent = "";
});
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
  $("token-input").value = "";
  load();
});
$("token-forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  $("model").hidden = true;  // read with the token: shown again only if the server needs none
  load();
});
load();
