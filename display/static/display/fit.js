/* QMS_FIT(el): a big number that would overflow its box (a long prefix, more digits, a
   4:3 or portrait screen) is made smaller until it fits; a short one keeps its CSS size. */
"use strict";
window.QMS_FIT = function (el) {
  el.style.fontSize = "";
  const box = el.parentElement;
  const style = getComputedStyle(box);
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const width = el.scrollWidth;
  if (room > 0 && width > room) {
    // 0.94: room for the pulse animation, which scales the number up by 6 %.
    el.style.fontSize = parseFloat(getComputedStyle(el).fontSize) * room / width * 0.94 + "px";
  }
};
