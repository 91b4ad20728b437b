rm -f /tmp/prof/*.cpuprofile && node --cpu-prof --cpu-prof-dir=/tmp/prof "$@" >/dev/null && cd /tmp/prof && node -e "
const p=JSON.parse(require('fs').readFileSync(require('fs').readdirSync('.').find(f=>f.endsWith('.cpuprofile'))));
const byId=new Map(p.nodes.map(n=>[n.id,n]));
const parent=new Map(); for(const n of p.nodes) for(const c of n.children||[]) parent.set(c,n.id);
const dt=p.timeDeltas; const counts=new Map();
p.samples.forEach((s,i)=>counts.set(s,(counts.get(s)||0)+(dt[i]||0)));
const self=new Map(), total=new Map();
for(const [id,t] of counts){ let cur=id; const seen=new Set(); const n=byId.get(id); const k=n.callFrame.functionName+' '+n.callFrame.url.split('/').slice(-2).join('/')+':'+n.callFrame.lineNumber; self.set(k,(self.get(k)||0)+t);
 while(cur!==undefined){const m=byId.get(cur); const kk=m.callFrame.functionName+' '+m.callFrame.url.split('/').slice(-2).join('/')+':'+m.callFrame.lineNumber; if(!seen.has(kk)){seen.add(kk); total.set(kk,(total.get(kk)||0)+t);} cur=parent.get(cur);} }
console.log('SELF'); console.log([...self].sort((a,b)=>b[1]-a[1]).slice(0,12).map(([k,t])=>(t/1000).toFixed(0)+'ms '+k).join('\n'));
console.log('TOTAL'); console.log([...total].sort((a,b)=>b[1]-a[1]).filter(([k])=>/ink|string-width|widest|slice|tokenize|react|wrap|cli-|Inspector|dist/.test(k)).slice(0,40).map(([k,t])=>(t/1000).toFixed(0)+'ms '+k).join('\n'));
"
