// The citeproc-js bibliography entry of each record, in each shipped CSL style, as plain text.
//
//   npm install --prefix /tmp/citeproc-js citeproc@2.4.63
//   NODE_PATH=/tmp/citeproc-js/node_modules node scripts/citeproc_js_expected.js \
//     tests/fixtures/csl/records.json harvester/core/csl_styles LOCALES_DIR \
//     > tests/fixtures/csl/citeproc_js_expected.json
//
// LOCALES_DIR: the CSL locales folder (for example citeproc-py's citeproc/data/locales).
// Output: {"citeproc": version, "locale": "en-GB", "styles": {style: {record id: text}}}.
"use strict";
const fs = require("fs");
const path = require("path");
const CSL = require("citeproc");

const [recordsFile, stylesDir, localesDir] = process.argv.slice(2);
const records = JSON.parse(fs.readFileSync(recordsFile, "utf8"));
const byId = Object.fromEntries(records.map((r) => [r.id, r]));
const styles = { vancouver: "vancouver.csl", apa: "apa.csl", harvard: "harvard-cite-them-right.csl" };
const LOCALE = "en-GB";

function plain(html) {
  return html
    .replace(/<[^>]+>/g, "")
    .replace(/&#38;/g, "&")
    .replace(/&#60;/g, "<")
    .replace(/&#62;/g, ">")
    .replace(/\s+/g, " ")
    .trim();
}

const out = { citeproc: CSL.PROCESSOR_VERSION, locale: LOCALE, styles: {} };
for (const [name, file] of Object.entries(styles)) {
  const xml = fs.readFileSync(path.join(stylesDir, file), "utf8");
  const sys = {
    retrieveLocale: (lang) => {
      const f = path.join(localesDir, `locales-${lang}.xml`);
      return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : false;
    },
    retrieveItem: (id) => byId[id],
  };
  out.styles[name] = {};
  for (const record of records) {
    const engine = new CSL.Engine(sys, xml, LOCALE, true);
    engine.updateItems([record.id]);
    const [, entries] = engine.makeBibliography();
    out.styles[name][record.id] = plain(entries[0]).replace(/^1\.\s*/, "");
  }
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
