import { readFileSync } from 'node:fs';
import { readAlerts } from './src/data/alerts.ts';
for (const f of process.argv.slice(2)) {
  const alerts = readAlerts(new Uint8Array(readFileSync(f)), f);
  for (const a of alerts) console.log(f, a.candid, a.candidate.drb, a.candidate.drbversion, a.candidate.rb, a.science.shape, a.candidate.jd);
}
