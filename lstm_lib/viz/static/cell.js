(function(){
// The clickable LSTM cell (lstm_lib.viz.diagram.clickable). Every part of the drawing is a
// <g role="button" tabindex="0">; selecting one (click, Enter or Space) lights the keys of its
// path and shows a copy of its entry from the list below (equation, shapes, numbers).
var me=document.currentScript,root=me&&me.parentNode;
if(!root||!root.getAttribute("data-lstmc")||root.getAttribute("data-ready"))return;
root.setAttribute("data-ready","1");
var data=JSON.parse(root.querySelector(".lstmc-data").textContent);
var parts=[].slice.call(root.querySelectorAll(".pt[data-part]"));
var drawn=[].slice.call(root.querySelectorAll("svg [data-k]"));
var out=root.querySelector(".lstmc-readout"),list=root.querySelector(".lstmc-list");
function select(key){
 var on={};(data.paths[key]||[]).forEach(function(k){on[k]=1;});
 drawn.forEach(function(e){if(on[e.getAttribute("data-k")])e.classList.add("on");else e.classList.remove("on");});
 parts.forEach(function(p){p.setAttribute("aria-pressed",p.getAttribute("data-part")===key?"true":"false");});
 var item=list&&list.querySelector('.lstmc-item[data-item="'+key+'"]');
 while(out.firstChild)out.removeChild(out.firstChild);
 if(item)out.appendChild(item.cloneNode(true));
 root.setAttribute("data-selected",key);
}
parts.forEach(function(p){
 var key=p.getAttribute("data-part");
 p.addEventListener("click",function(){select(key);});
 p.addEventListener("keydown",function(e){
  if(e.key==="Enter"||e.key===" "||e.key==="Spacebar"){e.preventDefault();select(key);}});
});
root.classList.add("lstmc-js");
if(list)list.open=false;
select(data.start);
})();
