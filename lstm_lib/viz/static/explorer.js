(function(){
if(!window.lstmxDraw){
var NS="http://www.w3.org/2000/svg";
var DASH={solid:"",dashed:"7 4",dotted:"2 3",dashdot:"7 3 2 3"};
// text sizes in CSS px: the SVG is drawn at the page's own scale (one unit, one pixel)
var SIZE={tick:13,script:11,label:13,title:14,legend:13,hline:12};
var SCRIPT=/([_^])(?:\(([^()]*)\)|\{([^{}]*)\}|([0-9A-Za-z]+))/g;
function parts(s){var out=[],pos=0,m;s=String(s||"");SCRIPT.lastIndex=0;
 while((m=SCRIPT.exec(s))){if(m.index>pos)out.push([s.slice(pos,m.index),""]);
  out.push([m[2]!==undefined?m[2]:m[3]!==undefined?m[3]:m[4],m[1]==="_"?"sub":"sup"]);pos=m.index+m[0].length;}
 if(pos<s.length)out.push([s.slice(pos),""]);return out;}
function el(t,a,p){var e=document.createElementNS(NS,t);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}
// a label with sub- and superscripts as tspans (c_t, W_hh, σ_max^k)
function rich(s,a,p,size){var t=el("text",a,p),at=0;t.setAttribute("font-size",size);
 parts(s).forEach(function(q){var sp=document.createElementNS(NS,"tspan"),to=0;sp.textContent=q[0];
  if(q[1]){sp.setAttribute("font-size",SIZE.script);to=q[1]==="sub"?Math.round(size*0.3):-Math.round(size*0.45);}
  if(to!==at){sp.setAttribute("dy",to-at);at=to;}t.appendChild(sp);});return t;}
// the same in HTML: sub and sup elements (the readout under the picture)
function richHTML(node,s){while(node.firstChild)node.removeChild(node.firstChild);
 parts(s).forEach(function(q){if(!q[1]){node.appendChild(document.createTextNode(q[0]));return;}
  var e=document.createElement(q[1]);e.textContent=q[0];node.appendChild(e);});}
function width(svg,s,size,bold){var t=rich(s,{x:0,y:0,"font-weight":bold?"bold":"normal"},svg,size);var w=t.getComputedTextLength();svg.removeChild(t);return w;}
// greedy word wrap of a label into lines no wider than w
function wrap(svg,s,w,size,bold){if(!s)return[];var words=String(s).split(" "),lines=[],cur="";
 words.forEach(function(x){var next=cur?cur+" "+x:x;if(cur&&width(svg,next,size,bold)>w){lines.push(cur);cur=x;}else cur=next;});
 if(cur)lines.push(cur);return lines;}
function nice(lo,hi,n){var span=hi-lo;if(!(span>0)){return[lo];}var step=Math.pow(10,Math.floor(Math.log10(span/n)));
 var err=span/n/step;if(err>=7.5)step*=10;else if(err>=3.5)step*=5;else if(err>=1.5)step*=2;
 var t=[],v=Math.ceil(lo/step-1e-9)*step;for(;v<=hi+step*1e-9;v+=step)t.push(Math.abs(v)<step*1e-9?0:v);return t;}
function fmt(v){var a=Math.abs(v);if(a===0)return"0";if(a>=1e4||a<1e-3)return v.toExponential(0).replace("-","\u2212");return String(+v.toPrecision(3)).replace("-","\u2212");}
function marker(m,x,y,c,g){if(!m)return;if(m==="o")el("circle",{cx:x,cy:y,r:3.5,fill:c},g);
 else if(m==="s")el("rect",{x:x-3.5,y:y-3.5,width:7,height:7,fill:c},g);
 else if(m==="^")el("path",{d:"M"+x+","+(y-4)+"l4,7.5h-8z",fill:c},g);
 else if(m==="v")el("path",{d:"M"+x+","+(y+4)+"l4,-7.5h-8z",fill:c},g);
 else if(m==="D")el("path",{d:"M"+x+","+(y-4.5)+"l4.5,4.5l-4.5,4.5l-4.5,-4.5z",fill:c},g);}
// what a panel needs around its plot: title lines and legend lines, at this width
function measure(svg,P,W){var room=W-64-14;
 var title=wrap(svg,P.title,W-16,SIZE.title,true),legend=[];
 P.series.forEach(function(s){if(s.label)legend.push(wrap(svg,s.label,room-30,SIZE.legend,false));});
 return{title:title,legend:legend,rows:legend.reduce(function(a,l){return a+l.length;},0)};}
function panel(svg,P,M,x0,y0,W,titleRows,plotH,k){
 var g=el("g",{"class":"lstmx-panel"},svg);
 var L=x0+64,R=x0+W-14,T=y0+(titleRows?titleRows*18+8:10),B=T+plotH,xs=[],ys=[];
 M.title.forEach(function(line,i){rich(line,{x:x0+W/2,y:y0+16+18*i,"text-anchor":"middle","font-weight":"bold",fill:"#111"},g,SIZE.title);});
 P.series.forEach(function(s){s.x.forEach(function(v,i){var y=s.y[i];if(v===null||y===null)return;if(P.logy&&y<=0)return;xs.push(v);ys.push(y);});});
 P.hlines.forEach(function(h){if(h[0]!==null)ys.push(h[0]);});
 var xl=P.xlim||[Math.min.apply(null,xs),Math.max.apply(null,xs)];
 var yl=P.ylim||[Math.min.apply(null,ys),Math.max.apply(null,ys)];
 var bars=P.series.filter(function(s){return s.kind==="bar"&&s.x.length>1;});
 if(bars.length&&!P.xlim){var gap=Math.abs(bars[0].x[1]-bars[0].x[0])/2;xl=[xl[0]-gap,xl[1]+gap];}
 if(P.series.some(function(s){return s.kind==="bar";})&&!P.ylim)yl=[Math.min(0,yl[0]),Math.max(0,yl[1])];
 if(xl[0]===xl[1]){xl=[xl[0]-1,xl[1]+1];}if(yl[0]===yl[1]){yl=P.logy?[yl[0]/10,yl[1]*10]:[yl[0]-1,yl[1]+1];}
 var ly=function(v){return P.logy?Math.log10(v):v;};var y0l=ly(yl[0]),y1l=ly(yl[1]);
 var sx=function(v){return L+(v-xl[0])/(xl[1]-xl[0])*(R-L);};
 var sy=function(v){var t=(ly(v)-y0l)/(y1l-y0l);return B-Math.max(-0.05,Math.min(1.05,t))*(B-T);};
 var clipId=svg.id+"-clip"+k;var cp=el("clipPath",{id:clipId},g);el("rect",{x:L,y:T-2,width:R-L,height:B-T+4},cp);
 el("rect",{x:L,y:T,width:R-L,height:B-T,fill:"#fff",stroke:"#333","stroke-width":0.8},g);
 var yt=P.logy?(function(){var t=[];for(var e=Math.ceil(y0l-1e-9);e<=y1l+1e-9;e++)t.push(Math.pow(10,e));
   var most=Math.max(3,Math.floor((B-T)/34));if(t.length>most){var q=Math.ceil(t.length/most);t=t.filter(function(_,i){return i%q===0;});}return t;})()
   :nice(yl[0],yl[1],Math.max(3,Math.floor((B-T)/40)));
 yt.forEach(function(v){var y=sy(v);el("line",{x1:L,x2:R,y1:y,y2:y,stroke:"#ddd"},g);
  if(P.logy)rich("10^{"+String(Math.round(Math.log10(v))).replace("-","\u2212")+"}",{x:L-5,y:y+5,"text-anchor":"end",fill:"#222"},g,SIZE.tick);
  else rich(fmt(v),{x:L-5,y:y+5,"text-anchor":"end",fill:"#222"},g,SIZE.tick);});
 nice(xl[0],xl[1],Math.max(3,Math.floor((R-L)/70))).forEach(function(v){var x=sx(v);el("line",{x1:x,x2:x,y1:B,y2:B+4,stroke:"#333"},g);rich(fmt(v),{x:x,y:B+18,"text-anchor":"middle",fill:"#222"},g,SIZE.tick);});
 rich(P.xlabel,{x:(L+R)/2,y:B+38,"text-anchor":"middle",fill:"#111"},g,SIZE.label);
 rich(P.ylabel,{x:0,y:0,"text-anchor":"middle",fill:"#111",transform:"translate("+(x0+14)+","+((T+B)/2)+") rotate(-90)"},g,SIZE.label);
 var inner=el("g",{"clip-path":"url(#"+clipId+")"},g);
 P.hlines.forEach(function(h){if(h[0]===null)return;var y=sy(h[0]);el("line",{x1:L,x2:R,y1:y,y2:y,stroke:"#555","stroke-dasharray":"4 3"},inner);rich(h[1],{x:L+4,y:y-5,fill:"#333"},inner,SIZE.hline);});
 var nb=P.series.filter(function(s){return s.kind==="bar";}).length,bi=0;
 P.series.forEach(function(s){
  if(s.kind==="bar"){var dx=(s.x.length>1?Math.abs(sx(s.x[1])-sx(s.x[0])):(R-L)/4)*0.8/Math.max(1,nb);
   var base=P.logy?yl[0]:Math.max(yl[0],Math.min(yl[1],0));
   s.x.forEach(function(v,i){var y=s.y[i];if(v===null||y===null)return;var a=sy(y),b=sy(base);
    el("rect",{x:sx(v)-dx*nb/2+dx*bi,y:Math.min(a,b),width:dx,height:Math.abs(b-a),fill:s.color,"fill-opacity":0.75,stroke:s.color},inner);});bi++;return;}
  var d="",pen=false,every=Math.max(1,Math.floor(s.x.length/15)),mg=el("g",{},inner);
  s.x.forEach(function(v,i){var y=s.y[i];if(v===null||y===null||(P.logy&&y<=0)){pen=false;return;}
   d+=(pen?"L":"M")+sx(v).toFixed(1)+","+sy(y).toFixed(1);pen=true;if(i%every===0)marker(s.marker,sx(v),sy(y),s.color,mg);});
  el("path",{d:d,fill:"none",stroke:s.color,"stroke-width":2,"stroke-dasharray":DASH[s.style]||""},inner);});
 // the legend, under the plot: no curve can run through it
 var row=0,j=0;P.series.forEach(function(s){if(!s.label)return;var lines=M.legend[j++],y=B+60+18*row;
  if(s.kind==="bar")el("rect",{x:L,y:y-9,width:24,height:9,fill:s.color,"fill-opacity":0.75},g);
  else{el("line",{x1:L,x2:L+24,y1:y-4,y2:y-4,stroke:s.color,"stroke-width":2,"stroke-dasharray":DASH[s.style]||""},g);marker(s.marker,L+12,y-4,s.color,g);}
  lines.forEach(function(line,i){rich(line,{x:L+30,y:y+18*i,fill:"#111"},g,SIZE.legend);});row+=lines.length;});
}
function frame(data,k){var f=data.frames[k];
 return{text:f[0],panels:f[1].map(function(p){var P=Object.assign({},data.parts[p[0]]);P.title=data.parts[p[1]];
  P.series=p[2].map(function(s){var S=Object.assign({},data.parts[s[0]]);S.x=data.arrays[s[1]];S.y=data.arrays[s[2]];return S;});return P;})};}
// the frames: JSON in a notebook; gzip and base64 on the website (book/_ext/course_lighter.py)
function load(root,then){var s=root.querySelector(".lstmx-data");
 if(s.getAttribute("data-encoding")!=="gzip+base64"){then(JSON.parse(s.textContent));return;}
 var bin=atob(s.textContent.trim()),bytes=new Uint8Array(bin.length);
 for(var i=0;i<bin.length;i++)bytes[i]=bin.charCodeAt(i);
 new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
  .then(function(t){then(JSON.parse(t));});}
window.lstmxDraw=function(root){load(root,function(data){
 var inputs=root.querySelectorAll("input[type=range]"),outs=root.querySelectorAll("output");
 var svg=root.querySelector("svg"),read=root.querySelector(".lstmx-readout"),drawn=0;svg.id=root.id+"-svg";
 svg.setAttribute("width","100%");
 function update(){var idx=0;data.controls.forEach(function(c,k){var v=+inputs[k].value;idx=idx*c.labels.length+v;
   outs[k].textContent=c.labels[v];inputs[k].setAttribute("aria-valuetext",c.labels[v]);});
  var f=frame(data,idx),n=f.panels.length,W=Math.floor(svg.getBoundingClientRect().width);
  richHTML(read,f.text);svg.setAttribute("aria-label",f.text);root.setAttribute("data-frame",idx);
  if(!(W>0))return;drawn=W;
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  var side=n>1&&W>=(data.stack_below||600),PW=side?W/n:W,plotH=Math.round(Math.max(170,Math.min(220,PW*0.55)));
  var ms=f.panels.map(function(P){return measure(svg,P,PW);});
  var H=0;
  if(side){var tr=Math.max.apply(null,ms.map(function(m){return m.title.length;}));
   var lr=Math.max.apply(null,ms.map(function(m){return m.rows;}));
   f.panels.forEach(function(P,i){panel(svg,P,ms[i],i*PW,0,PW,tr,plotH,i);});
   H=(tr?tr*18+8:10)+plotH+60+18*lr;}
  else f.panels.forEach(function(P,i){panel(svg,P,ms[i],0,H,W,ms[i].title.length,plotH,i);
   H+=(ms[i].title.length?ms[i].title.length*18+8:10)+plotH+60+18*ms[i].rows+(i<n-1?16:0);});
  svg.setAttribute("viewBox","0 0 "+W+" "+H);svg.setAttribute("height",H);}
 for(var k=0;k<inputs.length;k++)inputs[k].addEventListener("input",update);update();
 if(window.ResizeObserver)new ResizeObserver(function(){var W=Math.floor(svg.getBoundingClientRect().width);
  if(W>0&&W!==drawn)update();}).observe(root);
 root.setAttribute("data-ready","1");});};
}
var me=document.currentScript,root=me&&me.parentNode;
if(root&&root.getAttribute("data-lstmx")&&!root.getAttribute("data-started")){root.setAttribute("data-started","1");window.lstmxDraw(root);}
})();
