// Keyboard shortcuts for the Doorstep console. Every action is a plain
// link or form that works without this file; it only adds single keys.
// An element with data-key="s" (or "j n") is clicked when one of its keys
// is pressed, or focused when it is a field; j and k move the focus
// through list rows marked data-row where a page has them. A form marked
// data-once is sent once: a key pressed again while the next page loads
// does nothing.
(function () {
	"use strict";

	var busy = false;

	function isField(el) {
		return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
	}

	function keyed(key) {
		var els = document.querySelectorAll("[data-key]");
		for (var i = 0; i < els.length; i++) {
			if (els[i].getAttribute("data-key").split(" ").indexOf(key) >= 0) {
				return els[i];
			}
		}
		return null;
	}

	function moveRow(step) {
		var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
		if (rows.length === 0) {
			return false;
		}
		var i = rows.indexOf(document.activeElement);
		i = i < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, i + step));
		rows[i].focus();
		return true;
	}

	document.addEventListener("keydown", function (e) {
		if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) {
			return;
		}
		if (isField(e.target)) {
			if (e.key === "Escape") {
				e.target.blur();
			}
			return;
		}
		var key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
		if (busy) {
			if (key.length === 1) {
				e.preventDefault();
			}
			return;
		}
		if ((key === "j" || key === "k") && moveRow(key === "j" ? 1 : -1)) {
			e.preventDefault();
			return;
		}
		var el = keyed(key);
		if (!el) {
			return;
		}
		e.preventDefault();
		if (isField(el)) {
			el.focus();
			el.select && el.select();
			return;
		}
		el.click();
	});

	document.addEventListener("submit", function (e) {
		if (busy) {
			e.preventDefault();
			return;
		}
		if (e.target.hasAttribute("data-once")) {
			busy = true;
			document.body.classList.add("busy");
		}
	});

	// Coming back to a page from the history: it may be used again.
	window.addEventListener("pageshow", function () {
		busy = false;
		document.body.classList.remove("busy");
	});
})();
