#!/usr/bin/env python3
"""Lists the cycles among src/'s top-level modules (strongly connected components of crate::X uses,
test modules left out), and each member's edges inside its cycle. usage: tools/module_cycles.py"""
import os,re,collections
root=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
mods={}
for dp,dn,fn in os.walk(root):
    for f in fn:
        if not f.endswith('.rs'): continue
        p=os.path.join(dp,f); rel=os.path.relpath(p,root)
        top=rel.split('/')[0].replace('.rs','')
        if top in ('lib','main'): top='app'
        txt=open(p).read()
        # strip test modules roughly
        i=txt.find('#[cfg(test)]')
        if i>=0: txt=txt[:i]
        # Comments name modules without depending on them.
        txt='\n'.join(l for l in txt.split('\n') if not l.lstrip().startswith('//'))
        for m in re.findall(r'crate::([a-z_]+)',txt):
            if m!=top: mods.setdefault(top,set()).add(m)
        # "use crate::{a, b}" forms
        for grp in re.findall(r'use crate::\{([^}]*)\}',txt):
            for m in re.findall(r'\b([a-z_]+)::|\b([a-z_]+)\b',grp):
                pass
# find cycles via SCC
import sys
sys.setrecursionlimit(10000)
idx={};low={};st=[];on=set();sccs=[];c=[0]
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in mods.get(v,()):
        if w not in mods and w not in idx: idx[w]=low[w]=c[0];c[0]+=1;continue
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v:break
        if len(comp)>1: sccs.append(comp)
for v in list(mods): 
    if v not in idx: sc(v)
print(sccs)
for comp in sccs:
    for a in comp:
        print(a,'->',sorted(x for x in mods[a] if x in comp))
