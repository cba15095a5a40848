(function(){
if(!window.lstmxDraw){
var NS="http://www.w3.org/2000/svg";
var DASH={solid:"",dashed:"7 4",dotted:"2 3",dashdot:"7 3 2 3"};
function el(t,a,p){var e=document.createElementNS(NS,t);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}
function txt(s,a,p){var e=el("text",a,p);e.textContent=s;return e;}
function nice(lo,hi,n){var span=hi-lo;if(!(span>0)){return[lo];}var step=Math.pow(10,Math.floor(Math.log10(span/n)));
 var err=span/n/step;if(err>=7.5)step*=10;else if(err>=3.5)step*=5;else if(err>=1.5)step*=2;
 var t=[],v=Math.ceil(lo/step-1e-9)*step;for(;v<=hi+step*1e-9;v+=step)t.push(Math.abs(v)<step*1e-9?0:v);return t;}
function fmt(v){var a=Math.abs(v);if(a===0)return"0";if(a>=1e4||a<1e-3)return v.toExponential(0);return String(+v.toPrecision(3));}
function marker(m,x,y,c,g){if(!m)return;if(m==="o")el("circle",{cx:x,cy:y,r:3,fill:c},g);
 else if(m==="s")el("rect",{x:x-3,y:y-3,width:6,height:6,fill:c},g);
 else if(m==="^")el("path",{d:"M"+x+","+(y-3.5)+"l3.5,6.5h-7z",fill:c},g);
 else if(m==="v")el("path",{d:"M"+x+","+(y+3.5)+"l3.5,-6.5h-7z",fill:c},g);
 else if(m==="D")el("path",{d:"M"+x+","+(y-4)+"l4,4l-4,4l-4,-4z",fill:c},g);}
function panel(svg,P,x0,W,H){
 var nl=P.series.filter(function(s){return s.label;}).length;
 var L=x0+62,R=x0+W-12,T=P.title?26:12,B=H-40-16*nl,xs=[],ys=[];
 P.series.forEach(function(s){s.x.forEach(function(v,i){var y=s.y[i];if(v===null||y===null)return;if(P.logy&&y<=0)return;xs.push(v);ys.push(y);});});
 P.hlines.forEach(function(h){if(h[0]!==null)ys.push(h[0]);});
 var xl=P.xlim||[Math.min.apply(null,xs),Math.max.apply(null,xs)];
 var yl=P.ylim||[Math.min.apply(null,ys),Math.max.apply(null,ys)];
 var bars=P.series.filter(function(s){return s.kind==="bar"&&s.x.length>1;});
 if(bars.length&&!P.xlim){var gap=Math.abs(bars[0].x[1]-bars[0].x[0])/2;xl=[xl[0]-gap,xl[1]+gap];}
 if(P.series.some(function(s){return s.kind==="bar";})&&!P.ylim)yl=[Math.min(0,yl[0]),Math.max(0,yl[1])];
 if(xl[0]===xl[1]){xl=[xl[0]-1,xl[1]+1];}if(yl[0]===yl[1]){yl=P.logy?[yl[0]/10,yl[1]*10]:[yl[0]-1,yl[1]+1];}
 var ly=function(v){return P.logy?Math.log10(v):v;};var y0=ly(yl[0]),y1=ly(yl[1]);
 var sx=function(v){return L+(v-xl[0])/(xl[1]-xl[0])*(R-L);};
 var sy=function(v){var t=(ly(v)-y0)/(y1-y0);return B-Math.max(-0.05,Math.min(1.05,t))*(B-T);};
 var g=el("g",{},svg);
 var clipId=svg.id+"-clip"+x0;var cp=el("clipPath",{id:clipId},g);el("rect",{x:L,y:T-2,width:R-L,height:B-T+4},cp);
 el("rect",{x:L,y:T,width:R-L,height:B-T,fill:"#fff",stroke:"#333","stroke-width":0.8},g);
 var yt=P.logy?(function(){var t=[];for(var e=Math.ceil(y0-1e-9);e<=y1+1e-9;e++)t.push(Math.pow(10,e));
   if(t.length>7){var k=Math.ceil(t.length/6);t=t.filter(function(_,i){return i%k===0;});}return t;})():nice(yl[0],yl[1],5);
 yt.forEach(function(v){var y=sy(v);el("line",{x1:L,x2:R,y1:y,y2:y,stroke:"#ddd"},g);
  if(P.logy){var e=Math.round(Math.log10(v)),t=el("text",{x:L-5,y:y+4,"text-anchor":"end","font-size":11,fill:"#222"},g);
   var a=document.createElementNS(NS,"tspan");a.textContent="10";t.appendChild(a);
   var b=document.createElementNS(NS,"tspan");b.textContent=String(e).replace("-","\u2212");b.setAttribute("dy","-5");b.setAttribute("font-size","9");t.appendChild(b);}
  else txt(fmt(v),{x:L-5,y:y+4,"text-anchor":"end","font-size":11,fill:"#222"},g);});
 nice(xl[0],xl[1],6).forEach(function(v){var x=sx(v);el("line",{x1:x,x2:x,y1:B,y2:B+4,stroke:"#333"},g);txt(fmt(v),{x:x,y:B+16,"text-anchor":"middle","font-size":11,fill:"#222"},g);});
 if(P.title)txt(P.title,{x:(L+R)/2,y:16,"text-anchor":"middle","font-size":12,"font-weight":"bold",fill:"#111"},g);
 txt(P.xlabel,{x:(L+R)/2,y:B+32,"text-anchor":"middle","font-size":12,fill:"#111"},g);
 txt(P.ylabel,{x:0,y:0,"text-anchor":"middle","font-size":12,fill:"#111",transform:"translate("+(x0+14)+","+((T+B)/2)+") rotate(-90)"},g);
 var inner=el("g",{"clip-path":"url(#"+clipId+")"},g);
 P.hlines.forEach(function(h){if(h[0]===null)return;var y=sy(h[0]);el("line",{x1:L,x2:R,y1:y,y2:y,stroke:"#555","stroke-dasharray":"4 3"},inner);txt(h[1],{x:L+4,y:y-4,"font-size":10,fill:"#333"},inner);});
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
 var k=0;P.series.forEach(function(s){if(!s.label)return;var y=B+46+16*k++;
  if(s.kind==="bar")el("rect",{x:L,y:y-6,width:22,height:8,fill:s.color,"fill-opacity":0.75},g);
  else{el("line",{x1:L,x2:L+22,y1:y-2,y2:y-2,stroke:s.color,"stroke-width":2,"stroke-dasharray":DASH[s.style]||""},g);marker(s.marker,L+11,y-2,s.color,g);}
  txt(s.label,{x:L+28,y:y+2,"font-size":11,fill:"#111"},g);});
}
window.lstmxDraw=function(root){
 var data=JSON.parse(root.querySelector(".lstmx-data").textContent);
 var inputs=root.querySelectorAll("input[type=range]"),outs=root.querySelectorAll("output");
 var svg=root.querySelector("svg"),read=root.querySelector(".lstmx-readout");svg.id=root.id+"-svg";
 function update(){var idx=0;data.controls.forEach(function(c,k){var v=+inputs[k].value;idx=idx*c.labels.length+v;
   outs[k].textContent=c.labels[v];inputs[k].setAttribute("aria-valuetext",c.labels[v]);});
  var f=data.frames[idx],n=f.panels.length,W=400,nl=Math.max.apply(null,f.panels.map(function(P){return P.series.filter(function(s){return s.label;}).length;})),H=300+16*nl;while(svg.firstChild)svg.removeChild(svg.firstChild);
  svg.setAttribute("viewBox","0 0 "+(W*n)+" "+H);svg.setAttribute("width","100%");svg.setAttribute("aria-label",f.text);
  svg.style.maxWidth=(W*n)+"px";
  f.panels.forEach(function(P,i){panel(svg,P,i*W,W,H);});read.textContent=f.text;root.setAttribute("data-frame",idx);}
 for(var k=0;k<inputs.length;k++)inputs[k].addEventListener("input",update);update();};
}
var me=document.currentScript,root=me&&me.parentNode;
if(root&&root.getAttribute("data-lstmx")&&!root.getAttribute("data-ready")){root.setAttribute("data-ready","1");window.lstmxDraw(root);}
})();
