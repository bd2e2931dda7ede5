import { api, setSignedOutHandler, tokens } from './api.js';
import { authView } from './auth-view.js';
import { clear, h } from './dom.js';
import { jobView } from './job-view.js';
import { jobsView } from './jobs-view.js';

const main = document.getElementById('main')!;
const userBox = document.getElementById('user')!;
let current: { dispose(): void } | null = null;

function mount(view: { el: HTMLElement; dispose(): void } | HTMLElement): void {
  current?.dispose();
  current = null;
  clear(main);
  if (view instanceof HTMLElement) main.append(view);
  else {
    current = view;
    main.append(view.el);
  }
  // move focus to the new view's heading for screen readers and keyboards
  const heading = main.querySelector<HTMLElement>('h2');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function renderUser(): void {
  clear(userBox);
  const t = tokens.get();
  if (!t) return;
  userBox.append(
    h('span', { class: 'muted' }, 'Signed in as ', h('strong', null, t.username ?? '…')),
    h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          await api.logout();
          location.hash = '#/';
          route();
        },
      },
      'Sign out',
    ),
  );
}

function route(): void {
  renderUser();
  if (!tokens.get()) {
    mount(
      authView(() => {
        if (!location.hash || location.hash === '#') location.hash = '#/';
        route();
      }),
    );
    return;
  }
  const m = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  if (m) mount(jobView(decodeURIComponent(m[1])));
  else mount(jobsView());
}

setSignedOutHandler(() => route());
window.addEventListener('hashchange', route);

// a stored session: check it (this refreshes an expired access token) and learn the username
const stored = tokens.get();
if (stored && !stored.username) {
  api
    .me()
    .then((u) => {
      const t = tokens.get();
      if (t) tokens.set(t, u.username);
      renderUser();
    })
    .catch(() => undefined);
}
route();
