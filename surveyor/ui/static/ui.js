// The survey form's script. Every action is a plain form that works
// without it; it adds what makes the form quick at the door: the schema's
// rules checked as the worker types (asked of the local server, never
// copied here), drafts saved as they type, Enter adding a member, place
// suggestions, the GPS position, the Aadhaar number masked after entry
// and the sync button's progress.
(function () {
	"use strict";

	var csrf = document.querySelector('meta[name="csrf"]').getAttribute("content");
	var msgs = document.getElementById("msgs").dataset;

	function format(s) {
		var args = Array.prototype.slice.call(arguments, 1);
		return s.replace(/%[sd]/g, function () { return args.length ? String(args.shift()) : ""; });
	}

	function post(url, body) {
		return fetch(url, {
			method: "POST",
			headers: { "X-CSRF-Token": csrf, "Accept": "application/json" },
			body: body,
			credentials: "same-origin"
		});
	}

	function debounce(fn, ms) {
		var t = null;
		var d = function () {
			clearTimeout(t);
			t = setTimeout(fn, ms);
		};
		d.cancel = function () {
			clearTimeout(t);
			t = null;
		};
		return d;
	}

	// Language switch: come back to the same page.
	document.querySelectorAll("[data-back]").forEach(function (el) {
		el.value = location.pathname + location.search;
	});

	// The online banner, kept fresh on every page.
	var net = document.getElementById("net");
	function showNet(s) {
		if (!net || !s.known) {
			return;
		}
		net.className = "net " + (s.online ? "online" : "offline");
		net.textContent = s.online
			? msgs.netOnline + " " + format(msgs.netWaiting, s.waiting)
			: format(msgs.netOffline, s.waiting);
	}

	// ---- The list: Sync now, with progress.
	var syncForm = document.getElementById("sync-form");
	if (syncForm) {
		var button = document.getElementById("sync");
		var bar = document.getElementById("sync-progress");
		var result = document.getElementById("sync-result");
		var showSync = function (s) {
			showNet(s);
			result.textContent = s.message;
			result.className = "sync-result " + s.kind;
			result.dataset.kind = s.kind;
			button.disabled = s.running;
			bar.hidden = !s.running;
			bar.max = Math.max(1, s.total);
			bar.value = s.done;
		};
		var follow = function () {
			fetch("/api/sync", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
				.then(function (r) { return r.json(); })
				.then(function (s) {
					showSync(s);
					if (s.running) {
						setTimeout(follow, 300);
					} else {
						// The list shows the new states; the result stays on the page.
						location.reload();
					}
				});
		};
		syncForm.addEventListener("submit", function (e) {
			e.preventDefault();
			button.disabled = true;
			post("/sync", new URLSearchParams({ csrf: csrf })).then(function (r) { return r.json(); })
				.then(function (s) { showSync(s); setTimeout(follow, 200); });
		});
		if (result.dataset.kind === "running") {
			setTimeout(follow, 300);
		}
	}

	function pollNet() {
		if (syncForm && document.getElementById("sync").disabled) {
			return;
		}
		fetch("/api/sync", { headers: { "Accept": "application/json" }, credentials: "same-origin" })
			.then(function (r) { return r.json(); }).then(showNet).catch(function () {});
	}
	if (net) {
		setTimeout(pollNet, 500);
		setInterval(pollNet, 10000);
	}

	// ---- The household form.
	var form = document.getElementById("hh");
	if (!form) {
		return;
	}
	var rows = document.getElementById("member-rows");
	var template = document.getElementById("member-template");
	var touched = {};
	var showAll = !!document.getElementById("form-errors");

	function data() {
		return new URLSearchParams(new FormData(form));
	}

	function renumber() {
		var members = rows.querySelectorAll("[data-member]");
		members.forEach(function (m, i) {
			m.id = "member-" + i;
			m.querySelector("legend").textContent = format(msgs.memberN, i + 1);
			m.querySelectorAll("*").forEach(function (el) {
				["name", "id", "for", "data-error-for", "data-note-for", "data-mask-for", "aria-describedby", "value"].forEach(function (a) {
					var v = el.getAttribute(a);
					if (v === null || (a === "value" && !el.hasAttribute("data-remove"))) {
						return;
					}
					el.setAttribute(a, v.replace(/members\[\d+\]/g, "members[" + i + "]")
						.replace(/\bm\d+-/g, "m" + i + "-").replace(/remove-\d+/, "remove-" + i));
				});
			});
		});
	}

	function addMember() {
		var n = rows.querySelectorAll("[data-member]").length;
		var html = template.innerHTML.replace(/__i__/g, String(n)).replace(/__n__/g, String(n + 1));
		var holder = document.createElement("div");
		holder.innerHTML = html;
		var row = holder.querySelector("[data-member]");
		rows.appendChild(row);
		wireRow(row);
		renumber();
		row.querySelector("select, input:not([type=hidden])").focus();
		changed();
	}

	function wireRow(row) {
		var rm = row.querySelector("[data-remove]");
		rm.addEventListener("click", function (e) {
			e.preventDefault();
			row.remove();
			renumber();
			changed();
			var first = rows.querySelector("select, input:not([type=hidden])");
			(first || document.getElementById("add-member")).focus();
		});
	}
	rows.querySelectorAll("[data-member]").forEach(wireRow);

	document.getElementById("add-member").addEventListener("click", function (e) {
		e.preventDefault();
		addMember();
	});

	// The schema's rules, asked of the local server.
	var asking = null;
	function validate() {
		var body = data();
		var mine = asking = {};
		post("/api/validate", body).then(function (r) { return r.json(); }).then(function (ans) {
			if (mine !== asking) {
				return; // a newer answer is on its way
			}
			var byField = {};
			(ans.errors || []).forEach(function (e) {
				(byField[e.field] = byField[e.field] || []).push(e.message);
			});
			form.querySelectorAll("[data-error-for]").forEach(function (el) {
				var f = el.getAttribute("data-error-for");
				var show = showAll || touched[f] || (f === "members" && Object.keys(touched).length > 0);
				var text = show && byField[f] ? byField[f].join(" ") : "";
				el.textContent = text;
				var input = form.querySelector('[name="' + f + '"]');
				if (input) {
					if (text) {
						input.setAttribute("aria-invalid", "true");
					} else {
						input.removeAttribute("aria-invalid");
					}
				}
			});
			form.querySelectorAll("[data-note-for]").forEach(function (el) {
				el.textContent = (ans.notes || {})[el.getAttribute("data-note-for")] || "";
			});
		}).catch(function () {});
	}
	var validateSoon = debounce(validate, 300);

	// Drafts: what is typed, kept as it is typed (the server strips
	// Aadhaar numbers before the store sees them).
	var draftStatus = document.getElementById("draft-status");
	var submitted = false;
	function saveDraft() {
		if (submitted) {
			return; // the form is being saved: its draft goes with it
		}
		post("/api/draft", data()).then(function (r) {
			return r.json().then(function (b) { return { ok: r.ok, body: b }; });
		}).then(function (res) {
			if (!res.ok) {
				draftStatus.textContent = format(msgs.draftFailed, res.body.message || "");
				return;
			}
			draftStatus.textContent = format(msgs.draftSaved, res.body.saved_at);
			var q = "?draft=" + encodeURIComponent(res.body.id);
			if (location.search !== q) {
				history.replaceState(null, "", location.pathname + q);
			}
		}).catch(function () {});
	}
	var draftSoon = debounce(saveDraft, 700);

	function changed() {
		validateSoon();
		draftSoon();
	}

	form.addEventListener("input", function (e) {
		var t = e.target;
		if (t.hasAttribute("data-aadhaar") && t.value.replace(/\D/g, "").length >= 12) {
			touched[t.name] = true; // a full number is checked at once
		}
		if (t.tagName === "SELECT" || t.type === "checkbox") {
			touched[t.name] = true;
		}
		changed();
	});
	form.addEventListener("focusout", function (e) {
		if (e.target.name) {
			touched[e.target.name] = true;
			validateSoon();
		}
	});

	// Enter adds a member in a member row and moves on in the household's
	// fields; Ctrl+Enter saves.
	form.addEventListener("keydown", function (e) {
		if (e.key !== "Enter") {
			return;
		}
		var t = e.target;
		if (e.ctrlKey || e.metaKey) {
			e.preventDefault();
			document.getElementById("save").click();
			return;
		}
		if (t.tagName === "BUTTON" || t.tagName === "A" || t.tagName === "TEXTAREA") {
			return;
		}
		e.preventDefault();
		if (t.closest("[data-member]")) {
			// The new row takes the focus when the key comes up, so the
			// rest of this key press does not open its first list.
			touched[t.name] = true;
			addOnKeyUp = true;
			return;
		}
		var fields = Array.prototype.filter.call(form.querySelectorAll("input, select, button"), function (el) {
			return el.type !== "hidden" && !el.hidden && el.tabIndex >= 0 && !el.disabled;
		});
		var i = fields.indexOf(t);
		if (i >= 0 && i + 1 < fields.length) {
			fields[i + 1].focus();
		}
	});

	// Enter's own press would send the form (implicit submission):
	// the keydown above decided what Enter does.
	form.addEventListener("keypress", function (e) {
		var t = e.target;
		if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && t.tagName !== "BUTTON" && t.tagName !== "A" && t.tagName !== "TEXTAREA") {
			e.preventDefault();
		}
	});
	var addOnKeyUp = false;
	form.addEventListener("keyup", function (e) {
		if (e.key === "Enter" && addOnKeyUp) {
			addOnKeyUp = false;
			addMember();
		}
	});

	form.addEventListener("submit", function () {
		showAll = true;
		// A draft saved after the household would bring it back.
		submitted = true;
		draftSoon.cancel();
	});
	window.addEventListener("pageshow", function (e) {
		if (e.persisted) {
			submitted = false; // back to this page from the cache: still a form
		}
	});

	// Aadhaar: shown masked once typed, in full again while it has focus.
	function mask(input) {
		var digits = input.value.replace(/\D/g, "");
		var note = form.querySelector('[data-mask-for="' + input.name + '"]');
		if (digits.length >= 4) {
			input.type = "password";
			if (note) {
				note.textContent = format(msgs.aadhaarMasked, digits.slice(-4));
			}
		}
	}
	form.addEventListener("focusin", function (e) {
		if (e.target.hasAttribute && e.target.hasAttribute("data-aadhaar")) {
			e.target.type = "text";
		}
	});
	form.addEventListener("focusout", function (e) {
		if (e.target.hasAttribute && e.target.hasAttribute("data-aadhaar")) {
			mask(e.target);
		}
	});
	form.querySelectorAll("[data-aadhaar]").forEach(function (el) {
		if (el.value) {
			mask(el);
		}
	});

	// Localities and pincodes as the worker types.
	var places = [];
	form.querySelectorAll("[data-places]").forEach(function (input) {
		var list = document.getElementById(input.getAttribute("list"));
		var kind = input.getAttribute("data-places");
		var ask = debounce(function () {
			var q = input.value.trim();
			if (q === "") {
				return;
			}
			fetch("/api/places?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
				.then(function (r) { return r.json(); })
				.then(function (ps) {
					places = ps || [];
					list.textContent = "";
					var seen = {};
					places.forEach(function (p) {
						var v = kind === "pincode" ? p.pincode : p.locality;
						if (!v || seen[v]) {
							return;
						}
						seen[v] = true;
						var o = document.createElement("option");
						o.value = v;
						o.label = kind === "pincode" ? p.locality + ", " + p.city : p.pincode + " · " + p.city;
						list.appendChild(o);
					});
				}).catch(function () {});
		}, 150);
		input.addEventListener("input", ask);
		input.addEventListener("change", function () {
			var v = input.value.trim();
			places.forEach(function (p) {
				if ((kind === "pincode" ? p.pincode : p.locality) !== v) {
					return;
				}
				[["address.locality", p.locality], ["address.pincode", p.pincode], ["address.city", p.city]].forEach(function (kv) {
					var el = form.querySelector('[name="' + kv[0] + '"]');
					if (el && el.value === "" && kv[1]) {
						el.value = kv[1];
					}
				});
			});
			changed();
		});
	});

	// GPS from the browser, when the laptop has it; optional.
	var gpsButton = document.getElementById("gps-button");
	var gpsStatus = document.getElementById("gps-status");
	function locate() {
		gpsStatus.textContent = msgs.gpsWaiting;
		navigator.geolocation.getCurrentPosition(function (pos) {
			var c = pos.coords;
			document.getElementById("gps-lat").value = c.latitude.toFixed(6);
			document.getElementById("gps-lon").value = c.longitude.toFixed(6);
			document.getElementById("gps-acc").value = Math.round(c.accuracy);
			gpsStatus.textContent = format(msgs.gpsGot, c.latitude.toFixed(5), c.longitude.toFixed(5), Math.round(c.accuracy));
			changed();
		}, function () {
			gpsStatus.textContent = msgs.gpsUnavailable;
		}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
	}
	if (navigator.geolocation) {
		gpsButton.hidden = false;
		gpsButton.addEventListener("click", locate);
		if (!document.getElementById("gps-lat").value && form.dataset.form === "new") {
			locate();
		}
	}

	// Lookalikes: "go back" puts the worker on the member to check.
	var back = document.querySelector("[data-go-back]");
	if (back) {
		back.addEventListener("click", function (e) {
			e.preventDefault();
			var row = document.querySelector(back.getAttribute("href"));
			var field = row && row.querySelector('input[name$=".name"]');
			if (field) {
				field.focus();
			}
			document.getElementById("lookalikes").hidden = true;
		});
	}

	// After a failed save, the first field to fix; after a restored
	// draft, the first Aadhaar number to type again.
	var first = showAll ? form.querySelector('[aria-invalid="true"]') : form.querySelector("[data-retype]");
	if (first && !document.getElementById("lookalikes")) {
		first.focus();
	}
})();
