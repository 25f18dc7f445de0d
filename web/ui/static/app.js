// AgentScope web UI. Every page is complete without this script; it adds
// live updates (the organisation feed for run rows, the session feed for a
// replay), step-through replay, paging of long event lists, and keyboard
// navigation. The store is the truth: rows are re-fetched as the server
// renders them, never patched from guesses.
(() => {
	'use strict';

	const $ = (sel, el = document) => el.querySelector(sel);
	const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));
	const csrf = () => ($('meta[name="csrf-token"]') || {}).content || '';

	// ---- Formatting, mirroring web/ui/format.go and web/eventrow.go ----

	const trimZero = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
	const count = (n) => Number(n).toLocaleString('en-US');
	function tokens(n) {
		if (n >= 1e6) return trimZero((n / 1e6).toFixed(1)) + 'M';
		if (n >= 1e4) return trimZero((n / 1e3).toFixed(1)) + 'k';
		return count(n);
	}
	function millis(ms) {
		if (ms < 0) return '—';
		if (ms < 10) return trimZero(ms.toFixed(1)) + ' ms';
		if (ms < 1000) return ms.toFixed(0) + ' ms';
		if (ms < 60000) return trimZero((ms / 1000).toFixed(2)) + ' s';
		if (ms < 3600000) {
			const s = Math.floor(ms / 1000);
			return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
		}
		const m = Math.floor(ms / 60000);
		return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
	}
	function dollars(v) {
		const a = Math.abs(v);
		if (v === 0) return '$0';
		if (a >= 1000) return '$' + Math.round(v).toLocaleString('en-US');
		if (a >= 1) return '$' + v.toFixed(2);
		if (a >= 0.0001) return '$' + trimZero(v.toFixed(4));
		return '<$0.0001';
	}
	function preview(v) {
		if (v === undefined || v === null) return '';
		let s = typeof v === 'string' ? v : JSON.stringify(v);
		s = s.split(/\s+/).filter(Boolean).join(' ');
		const r = Array.from(s);
		return r.length > 80 ? r.slice(0, 79).join('') + '…' : s;
	}
	const joinNonEmpty = (sep, ...xs) => xs.filter(Boolean).join(sep);

	function summarize(ev) {
		const parts = [];
		const add = (...xs) => xs.forEach((x) => { if (x) parts.push(x); });
		switch (ev.type) {
		case 'SessionStarted': case 'RunQueued': add(ev.agent, preview(ev.input)); break;
		case 'ModelInvoked': add(joinNonEmpty('/', ev.provider, ev.model)); break;
		case 'ModelCompleted':
			add(ev.model);
			if (ev.tokens_in != null || ev.tokens_out != null) add(`${tokens(ev.tokens_in || 0)}→${tokens(ev.tokens_out || 0)} tokens`);
			if (ev.duration_ms != null) add(millis(ev.duration_ms));
			add(ev.finish_reason);
			break;
		case 'ToolCalled': add(ev.tool, preview(ev.arguments)); break;
		case 'ToolReturned':
			add(ev.tool, ev.status);
			if (ev.duration_ms != null) add(millis(ev.duration_ms));
			break;
		case 'CostRecorded':
			if (ev.amount_usd != null) add(dollars(Number(ev.amount_usd)));
			// Same words as eventrow.go: a cost computed from the pricing table says so.
			if (typeof ev.source === 'string' && ev.source.startsWith('computed:')) add(ev.model, 'computed from ' + ev.source.slice('computed:'.length));
			else add(ev.model, ev.source);
			break;
		case 'SessionCompleted': add(ev.status, preview(ev.output)); break;
		case 'ProviderSwitched': add('→ ' + joinNonEmpty('/', ev.provider, ev.model)); break;
		case 'Alert': {
			const a = ev.attributes || {};
			for (const k of ['severity', 'risk_level', 'title']) if (typeof a[k] === 'string') add(a[k]);
			break;
		}
		case 'InvestigationReported': {
			const a = ev.attributes || {};
			if (typeof a.report_status === 'string' && a.report_status) add('report ' + a.report_status);
			if (typeof a.risk_level === 'string' && a.risk_level) add('risk ' + a.risk_level);
			break;
		}
		}
		add(ev.error);
		return parts.join(' · ');
	}

	function isErrorEvent(ev) {
		if (ev.error && !['BudgetWarning', 'ProviderSwitched', 'RunRetried'].includes(ev.type)) return true;
		return (ev.type === 'ToolReturned' && ev.status === 'error') ||
			(ev.type === 'SessionCompleted' && ev.status === 'failed') ||
			ev.type === 'RunFailed' || ev.type === 'BudgetExceeded';
	}

	function typeClass(t) {
		if (t.startsWith('Model')) return 't-model';
		if (t.startsWith('Tool')) return 't-tool';
		if (t === 'CostRecorded') return 't-cost';
		if (t.startsWith('Budget') || t === 'RunRetried' || t === 'ProviderSwitched') return 't-warn';
		if (t === 'RunFailed') return 't-err';
		return 't-run';
	}

	// tsMicros reads an RFC 3339 time to Unix microseconds, keeping the
	// fraction Date.parse would drop.
	function tsMicros(ts) {
		const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(ts);
		if (!m) return Date.parse(ts) * 1000;
		const frac = m[2] ? Math.round(parseFloat('0' + m[2]) * 1e6) : 0;
		return Date.parse(m[1] + m[3]) * 1000 + frac;
	}

	const el = (tag, cls, text) => {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	};

	// eventItem renders an event like the EventItem templ component.
	function eventItem(ev, t0) {
		const offMS = (tsMicros(ev.ts) - t0) / 1000;
		const li = el('li', isErrorEvent(ev) ? 'ev error' : 'ev');
		li.id = 'ev-' + ev.seq;
		li.dataset.seq = ev.seq;
		li.dataset.off = Math.round(offMS);
		li.setAttribute('data-nav-row', '');
		const details = el('details');
		const summary = el('summary');
		summary.append(
			el('span', 'ev-seq', '#' + ev.seq),
			el('span', 'ev-off', '+' + (offMS / 1000).toFixed(3) + 's'),
			el('span', 'ev-type ' + typeClass(ev.type), ev.type),
			el('span', 'ev-sum', summarize(ev)),
		);
		details.append(summary, el('pre', 'json', JSON.stringify(ev, null, 2)));
		li.append(details);
		return li;
	}

	// ---- Small enhancements ----

	function localTimes(root = document) {
		$$('time[datetime]', root).forEach((t) => {
			if (t.dataset.local) return;
			const d = new Date(t.dateTime);
			if (Number.isNaN(d.getTime())) return;
			t.dataset.local = '1';
			if (/ UTC$/.test(t.textContent)) {
				t.title = t.textContent;
				t.textContent = d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
			}
		});
	}

	function autosubmit() {
		$$('select[data-autosubmit]').forEach((s) => s.addEventListener('change', () => s.form.requestSubmit()));
	}

	function copyButtons(root = document) {
		$$('[data-copy]', root).forEach((b) => {
			if (b.dataset.bound) return;
			b.dataset.bound = '1';
			b.hidden = false;
			b.addEventListener('click', async () => {
				const text = $(b.dataset.copy).textContent;
				try {
					await navigator.clipboard.writeText(text);
				} catch {
					const r = document.createRange();
					r.selectNodeContents($(b.dataset.copy));
					getSelection().removeAllRanges();
					getSelection().addRange(r);
					document.execCommand('copy');
				}
				b.textContent = 'Copied';
				setTimeout(() => { b.textContent = 'Copy'; }, 1500);
			});
		});
	}

	// ---- Live connections ----

	const liveStatus = { open: 0, wanted: 0 };
	function showLive() {
		const s = $('#live-status');
		if (!s || !liveStatus.wanted) return;
		s.hidden = false;
		const open = liveStatus.open > 0;
		s.dataset.state = open ? 'open' : 'closed';
		$('.live-text', s).textContent = open ? 'Live' : 'Reconnecting';
	}

	// liveSocket keeps a websocket open, reconnecting with backoff; params()
	// is read at each connect so a reconnect resumes from the last position.
	function liveSocket(path, params, onMessage) {
		let delay = 500;
		let ws = null;
		let stopped = false;
		let isOpen = false;
		liveStatus.wanted++;
		const connect = () => {
			const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path + '?' + new URLSearchParams(params());
			ws = new WebSocket(url);
			ws.onopen = () => { delay = 500; isOpen = true; liveStatus.open++; showLive(); };
			ws.onmessage = (e) => onMessage(JSON.parse(e.data));
			ws.onclose = () => {
				if (isOpen) { liveStatus.open--; isOpen = false; }
				showLive();
				if (stopped) return;
				setTimeout(connect, delay);
				delay = Math.min(delay * 2, 15000);
			};
		};
		connect();
		return { stop() { stopped = true; liveStatus.wanted--; if (ws) ws.close(); } };
	}

	// ---- Run rows, kept current by the organisation feed ----

	// refreshers serialise the re-fetches of one row, coalescing bursts.
	const refreshers = new Map();
	function refreshRun(sid, agent) {
		let r = refreshers.get(sid);
		if (!r) { r = { busy: false, again: false }; refreshers.set(sid, r); }
		if (r.busy) { r.again = true; return; }
		r.busy = true;
		const run = async () => {
			do {
				r.again = false;
				try { await applyRun(sid, agent); } catch (e) { console.warn('refresh run', sid, e); }
			} while (r.again);
			r.busy = false;
		};
		run();
	}

	async function fetchRow(sid, query) {
		const res = await fetch(`/ui/fragments/runs/${encodeURIComponent(sid)}?${new URLSearchParams(query)}`, { credentials: 'same-origin' });
		if (res.status === 204 || res.status === 404) return null;
		if (!res.ok) throw new Error(res.status);
		const t = document.createElement('tbody');
		t.innerHTML = (await res.text()).trim();
		return t.firstElementChild;
	}

	function place(tbody, row, sid, limit) {
		const old = $(`tr[data-session="${CSS.escape(sid)}"]`, tbody);
		if (old) {
			if (old.dataset.status !== row.dataset.status) row.classList.add('flash');
			if (old.classList.contains('selected')) row.classList.add('selected');
			old.replaceWith(row);
		} else {
			row.classList.add('flash');
			tbody.prepend(row);
			if (limit) while (tbody.rows.length > limit) tbody.lastElementChild.remove();
		}
		localTimes(row);
		const empty = tbody.closest('section, .agent-runs');
		if (empty) $$('.no-runs, .muted.pad', empty).forEach((p) => { if (/^No /.test(p.textContent)) p.remove(); });
	}

	async function applyRun(sid, agent) {
		const list = $('#sessions');
		if (list) {
			const tbody = list.tBodies[0];
			const known = $(`tr[data-session="${CSS.escape(sid)}"]`, tbody);
			if (known || list.hasAttribute('data-live-insert')) {
				const row = await fetchRow(sid, { agent: list.dataset.filterAgent || '', status: list.dataset.filterStatus || '' });
				if (row) place(tbody, row, sid);
				else if (known) known.remove();
			}
		}
		const runs = agent && $(`tbody[data-runs-for="${CSS.escape(agent)}"]`);
		if (runs) {
			const row = await fetchRow(sid, { view: 'agent' });
			if (row) place(runs, row, sid, 5);
		}
	}

	function orgFeed() {
		let cursor = document.body.dataset.feed;
		if (!cursor) return;
		liveSocket('/ui/live/org', () => ({ cursor }), (m) => {
			cursor = m.cursor || cursor;
			if (m.type === 'ready') document.body.dataset.feedReady = '1';
			(m.events || []).forEach((ev) => {
				refreshRun(ev.session_id, ev.agent);
				investigationEvent(ev);
			});
		});
	}

	// The Run form of a managed agent posts in place and lists the new run.
	function runForms() {
		$$('form[data-run-form]').forEach((form) => {
			form.addEventListener('submit', async (e) => {
				e.preventDefault();
				const msg = $('.form-msg', form);
				const button = $('button[type=submit]', form);
				msg.textContent = '';
				button.disabled = true;
				try {
					const res = await fetch(form.action, {
						method: 'POST',
						body: new URLSearchParams(new FormData(form)),
						headers: { 'X-Requested-With': 'fetch', 'X-CSRF-Token': csrf() },
						credentials: 'same-origin',
					});
					const text = await res.text();
					if (!res.ok) { msg.textContent = text.trim() || `Failed (${res.status})`; return; }
					const t = document.createElement('tbody');
					t.innerHTML = text.trim();
					const row = t.firstElementChild;
					const tbody = $('tbody[data-runs-for]', form.closest('.agent'));
					place(tbody, row, row.dataset.session, 5);
					$('textarea', form).value = '';
				} catch (err) {
					msg.textContent = 'Could not reach the server: ' + err.message;
				} finally {
					button.disabled = false;
				}
			});
		});
	}

	// ---- Investigations ----

	// Elements that follow an investigation carry data-watch (the
	// investigation's session while it runs) and data-fragment (where the
	// server renders them afresh). They are re-read when the feed reports
	// an event of the session they watch, and every few seconds while they
	// watch one, in case the feed is down.
	const seenSessions = new Set();
	const fragmentRefreshers = new Map();

	function refreshFragment(url) {
		let r = fragmentRefreshers.get(url);
		if (!r) { r = { busy: false, again: false }; fragmentRefreshers.set(url, r); }
		if (r.busy) { r.again = true; return; }
		r.busy = true;
		(async () => {
			do {
				r.again = false;
				try {
					const res = await fetch(url, { credentials: 'same-origin' });
					if (!res.ok) throw new Error(res.status);
					const box = document.createElement('div');
					box.innerHTML = (await res.text()).trim();
					const fresh = box.firstElementChild;
					$$('[data-fragment]').filter((e) => e.dataset.fragment === url).forEach((old) => {
						const copy = fresh.cloneNode(true);
						if (old.dataset.status !== copy.dataset.status) copy.classList.add('flash');
						old.replaceWith(copy);
						enhance(copy);
					});
				} catch (e) {
					console.warn('refresh', url, e);
				}
			} while (r.again);
			r.busy = false;
		})();
	}

	function investigationEvent(ev) {
		seenSessions.add(ev.session_id);
		$$('[data-watch]').forEach((e) => { if (e.dataset.watch === ev.session_id) refreshFragment(e.dataset.fragment); });
		$$('[data-report-for]').forEach((e) => {
			const reported = ev.type === 'InvestigationReported' && e.dataset.reportFor === ev.session_id;
			// An investigation queued elsewhere (the CLI, MCP) may be about
			// this session: the server knows.
			const queued = ev.type === 'RunQueued' && ev.agent === 'investigator' && !e.dataset.watch;
			if (reported || queued) refreshFragment(e.dataset.fragment);
		});
	}

	// placed follows a just-inserted element: if its investigation moved on
	// before the element was there to hear it, it is read again.
	function placed(e) {
		enhance(e);
		if (e.dataset.watch && seenSessions.has(e.dataset.watch)) refreshFragment(e.dataset.fragment);
	}

	function pollWatched() {
		setInterval(() => {
			const urls = new Set($$('[data-watch]').filter((e) => e.dataset.watch).map((e) => e.dataset.fragment));
			urls.forEach(refreshFragment);
		}, 5000);
	}

	// The Investigate and Run Splunk Investigation forms post in place:
	// the replay's panel is replaced, the agents page lists the new
	// investigation; either then follows it live.
	function investigateForms(root = document) {
		$$('form[data-investigate-form]', root).forEach((form) => {
			if (form.dataset.bound) return;
			form.dataset.bound = '1';
			form.addEventListener('submit', async (e) => {
				e.preventDefault();
				const msg = $('.form-msg', form);
				const button = $('button[type=submit]', form);
				msg.textContent = '';
				button.disabled = true;
				let keepDisabled = false;
				try {
					const res = await fetch(form.action, {
						method: 'POST',
						body: new URLSearchParams(new FormData(form)),
						headers: { 'X-Requested-With': 'fetch', 'X-CSRF-Token': csrf() },
						credentials: 'same-origin',
					});
					const text = await res.text();
					if (!res.ok) { msg.textContent = text.trim() || `Failed (${res.status})`; return; }
					const box = document.createElement(form.closest('.agent-investigate') ? 'ul' : 'div');
					box.innerHTML = text.trim();
					const fresh = box.firstElementChild;
					const panel = form.closest('#report-panel');
					if (panel) {
						keepDisabled = true;
						panel.replaceWith(fresh);
					} else {
						const list = $('ul.investigations', form.closest('.agent-investigate'));
						fresh.classList.add('flash');
						list.prepend(fresh);
						while (list.children.length > 3) list.lastElementChild.remove();
					}
					placed(fresh);
				} catch (err) {
					msg.textContent = 'Could not reach the server: ' + err.message;
				} finally {
					if (!keepDisabled) button.disabled = false;
				}
			});
		});
	}

	// enhance wires up markup the server rendered after the page loaded.
	function enhance(root) {
		localTimes(root);
		copyButtons(root);
		investigateForms(root);
	}

	// A link to an event (#ev-<seq>, from a report's evidence) opens and
	// marks its row.
	function showTargetEvent() {
		const m = /^#ev-(\d+)$/.exec(location.hash);
		$$('.ev.targeted').forEach((r) => r.classList.remove('targeted'));
		if (!m) return;
		const row = document.getElementById('ev-' + m[1]);
		if (!row) return;
		row.classList.add('targeted');
		const d = $('details', row);
		if (d) d.open = true;
		row.scrollIntoView({ block: 'center' });
	}

	// ---- Replay ----

	function replay() {
		const root = $('#replay');
		if (!root) return;
		const sid = root.dataset.session;
		const t0 = Number(root.dataset.t0);
		const list = $('#events');
		const rows = () => $$(':scope > li.ev', list);
		const lastSeq = () => {
			const r = list.lastElementChild;
			return r ? Number(r.dataset.seq) : Number(list.dataset.after || 0);
		};
		const append = (evs) => {
			let last = lastSeq();
			const frag = document.createDocumentFragment();
			evs.forEach((ev) => {
				if (ev.seq <= last) return;
				const li = eventItem(ev, t0);
				frag.append(li);
				last = ev.seq;
			});
			list.append(frag);
			$$('.no-events', root).forEach((p) => p.remove());
			player.update();
		};

		// Paging: long sessions load page by page as the reader nears the end.
		let loading = false;
		const more = $('#more-events');
		const status = el('div', 'list-status');
		list.after(status);
		async function loadMore() {
			if (loading || !list.hasAttribute('data-more')) return false;
			loading = true;
			status.textContent = 'Loading more events…';
			try {
				const res = await fetch(`/ui/api/sessions/${encodeURIComponent(sid)}/events?limit=500&cursor=${lastSeq()}`, { credentials: 'same-origin' });
				if (!res.ok) throw new Error(res.status);
				const page = await res.json();
				append(page.events);
				if (!page.next_cursor) list.removeAttribute('data-more');
				status.textContent = '';
				return true;
			} catch (e) {
				status.textContent = 'Could not load more events (' + e.message + ').';
				return false;
			} finally {
				loading = false;
				if (!list.hasAttribute('data-more') && more) more.hidden = true;
			}
		}

		// Live: new events stream in as they commit; the totals and the
		// waterfall are re-rendered by the server, at most every 700 ms.
		let refreshTimer = null;
		let refreshing = false;
		async function refreshTimeline() {
			refreshTimer = null;
			if (refreshing) { scheduleRefresh(); return; }
			refreshing = true;
			try {
				const res = await fetch(`/ui/fragments/sessions/${encodeURIComponent(sid)}/timeline`, { credentials: 'same-origin' });
				if (res.ok) {
					const box = document.createElement('div');
					box.innerHTML = (await res.text()).trim();
					$('#timeline').replaceWith(box.firstElementChild);
					player.update();
				}
			} finally {
				refreshing = false;
			}
		}
		function scheduleRefresh() { if (!refreshTimer) refreshTimer = setTimeout(refreshTimeline, 700); }

		if (root.hasAttribute('data-live')) {
			// The live feed sends the backlog after the last rendered event,
			// so paging is not needed.
			list.removeAttribute('data-more');
			if (more) more.hidden = true;
			const sock = liveSocket(`/ui/live/sessions/${encodeURIComponent(sid)}`, () => ({ from_seq: lastSeq() }), (ev) => {
				append([ev]);
				const li = list.lastElementChild;
				if (li) li.classList.add('fresh');
				scheduleRefresh();
				if (['SessionCompleted', 'RunFailed', 'RunCancelled'].includes(ev.type)) {
					root.removeAttribute('data-live');
					sock.stop();
					scheduleRefresh();
				}
			});
		} else if (list.hasAttribute('data-more')) {
			if (more) more.addEventListener('click', (e) => { e.preventDefault(); loadMore(); });
			const sentinel = el('div');
			status.after(sentinel);
			new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); }, { rootMargin: '600px' }).observe(sentinel);
		}

		// Step-through replay: walk the events in order, highlighting each
		// in the list and on the waterfall.
		const panel = $('#player');
		const playBtn = $('[data-act=play]', panel);
		const pos = $('#player-pos');
		const now = $('#player-now');
		const player = {
			idx: -1,
			playing: false,
			timer: null,
			speed: 1,
			update() {
				pos.textContent = `Step ${this.idx + 1} of ${rows().length}`;
				this.paint();
			},
			paint() {
				const rs = rows();
				const row = rs[this.idx];
				const wf = $('#waterfall');
				if (!wf) return;
				const cursor = $('#wf-cursor', wf);
				wf.classList.toggle('playing', !!row);
				if (!row) { if (cursor) cursor.hidden = true; $$('.wf-row', wf).forEach((r) => r.classList.remove('future', 'active')); return; }
				const seq = Number(row.dataset.seq);
				$$('.wf-row[data-from]', wf).forEach((r) => {
					const from = Number(r.dataset.from);
					const to = Number(r.dataset.to);
					r.classList.toggle('future', from > seq);
					r.classList.toggle('active', from <= seq && seq <= to && from !== to);
				});
				const span = Number(wf.dataset.spanMs);
				if (cursor && span > 0) {
					const at = ((t0 + Number(row.dataset.off) * 1000) - Number(wf.dataset.t0)) / 1000;
					cursor.style.left = Math.max(0, Math.min(100, (at / span) * 100)) + '%';
					cursor.hidden = false;
				}
			},
			show(i) {
				const rs = rows();
				if (!rs.length) return;
				this.idx = Math.max(0, Math.min(i, rs.length - 1));
				rs.forEach((r) => r.classList.remove('current'));
				const row = rs[this.idx];
				row.classList.add('current');
				row.scrollIntoView({ block: 'nearest' });
				const s = row.querySelector('summary');
				now.textContent = Array.from(s.children).map((c) => c.textContent).join('  ');
				this.update();
			},
			async step(d) {
				if (d > 0 && this.idx >= rows().length - 1 && !(await loadMore())) return false;
				this.show(this.idx + d);
				return true;
			},
			play() {
				if (this.idx >= rows().length - 1 && !list.hasAttribute('data-more')) this.idx = -1;
				this.playing = true;
				playBtn.textContent = 'Pause';
				this.tick();
			},
			pause() {
				this.playing = false;
				clearTimeout(this.timer);
				playBtn.textContent = 'Play';
			},
			toggle() { if (this.playing) this.pause(); else this.play(); },
			async tick() {
				if (!this.playing) return;
				const rs = rows();
				const cur = rs[this.idx];
				if (!(await this.step(1))) { if (!root.hasAttribute('data-live')) this.pause(); else this.timer = setTimeout(() => this.tick(), 500); return; }
				const next = rows()[this.idx];
				const gap = cur ? Number(next.dataset.off) - Number(cur.dataset.off) : 0;
				this.timer = setTimeout(() => this.tick(), Math.min(Math.max(gap / this.speed, 80), 2000));
			},
		};
		panel.hidden = false;
		panel.addEventListener('click', (e) => {
			const act = e.target.closest('[data-act]');
			if (!act) return;
			switch (act.dataset.act) {
			case 'play': player.toggle(); break;
			case 'next': player.pause(); player.step(1); break;
			case 'prev': player.pause(); player.show(player.idx - 1); break;
			case 'first': player.pause(); player.show(0); break;
			}
		});
		$('[data-act=speed]', panel).addEventListener('change', (e) => { player.speed = Number(e.target.value); });
		player.update();
		replayKeys = (e) => {
			switch (e.key) {
			case ' ': e.preventDefault(); player.toggle(); return true;
			case 'ArrowRight': e.preventDefault(); player.pause(); player.step(1); return true;
			case 'ArrowLeft': e.preventDefault(); player.pause(); player.show(player.idx - 1); return true;
			case 'Home': e.preventDefault(); player.pause(); player.show(0); return true;
			}
			return false;
		};
	}

	// ---- Keyboard ----

	let replayKeys = null;
	let pendingG = false;

	function navList() {
		const sel = $('[data-nav-list] .selected');
		return sel ? sel.closest('[data-nav-list]') : $('[data-nav-list]');
	}

	function moveSelection(d) {
		const list = navList();
		if (!list) return;
		const rows = $$('[data-nav-row]', list).filter((r) => r.offsetParent !== null);
		if (!rows.length) return;
		const cur = rows.findIndex((r) => r.classList.contains('selected'));
		const next = rows[Math.max(0, Math.min(cur < 0 ? 0 : cur + d, rows.length - 1))];
		rows.forEach((r) => r.classList.remove('selected'));
		next.classList.add('selected');
		next.scrollIntoView({ block: 'nearest' });
	}

	function openSelection() {
		const sel = $('[data-nav-list] .selected');
		if (!sel) return false;
		const details = sel.querySelector('details');
		if (details) { details.open = !details.open; return true; }
		const a = sel.querySelector('a[href]');
		if (a) { a.click(); return true; }
		return false;
	}

	function onKey(e) {
		const t = e.target;
		const typing = t.closest && t.closest('input, textarea, select, [contenteditable]');
		if (typing) {
			if (e.key === 'Escape') t.blur();
			if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && t.form) { e.preventDefault(); t.form.requestSubmit(); }
			return;
		}
		if (e.ctrlKey || e.metaKey || e.altKey) return;
		if (pendingG) {
			pendingG = false;
			const dest = { d: '/', a: '/agents', s: '/sessions', r: '/reports', k: '/keys', u: '/audit', m: '/members', h: '/connections', b: '/billing' }[e.key];
			if (dest) { location.href = dest; return; }
		}
		if (replayKeys && t.closest && !t.closest('button, a, summary') && replayKeys(e)) return;
		switch (e.key) {
		case 'j': moveSelection(1); break;
		case 'k': moveSelection(-1); break;
		case 'Enter': if (openSelection()) e.preventDefault(); break;
		case '/': {
			e.preventDefault();
			const f = $('[data-focus-target]');
			if (f && !f.disabled) f.focus(); else location.href = '/search';
			break;
		}
		case '?': { const d = $('#shortcuts'); if (d && !d.open) d.showModal(); break; }
		case 'g': pendingG = true; setTimeout(() => { pendingG = false; }, 1200); break;
		}
	}

	function init() {
		localTimes();
		autosubmit();
		copyButtons();
		runForms();
		investigateForms();
		orgFeed();
		pollWatched();
		replay();
		showTargetEvent();
		window.addEventListener('hashchange', showTargetEvent);
		document.addEventListener('keydown', onKey);
	}

	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
	else init();
})();
