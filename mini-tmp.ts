import { parseDriftConfig } from '#core/drift/config.ts';
import { evaluateDrift } from '#core/drift/report.ts';
import { prepareSample } from '#core/drift/sample.ts';
import { FAMILIES } from './test/unit/drift/helpers.ts';
const G: any = { ...FAMILIES, off: (n: number, s: number, sh = 0) => Float64Array.from(FAMILIES.poisson(n, s), (v) => v + sh * Math.sqrt(3)) };
const config = parseDriftConfig();
for (const f of ['t3','poisson','off','normal','lognormal','clipped']) for (const n of [50,100,1000]) {
  let fv=0,fk=0,pv=0,pk=0; const P=200;
  for (let p=0;p<P;p++){ const ref=prepareSample(G[f](n,10000+2*p));
    for (const [d,isNull] of [[G[f](n,10001+2*p),true],[G[f](n,10001+2*p,0.2),false]] as const){
      const r=evaluateDrift({reference:{x:ref},current:{x:d},features:['x'],config}); const x=r.features.x; const k:any=x.tests.ks; const ka=k.drift&&x.effect.floorMet;
      if(isNull){ if(r.drift)fv++; if(ka)fk++;} else { if(r.drift)pv++; if(ka)pk++; } } }
  console.log(f,n,'FA',fv,fk,'power',pv,pk);
}
