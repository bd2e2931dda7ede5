import { api, setSignedOutHandler, tokens } from './api.js';
import { authView } from './auth-view.js';
import { clear, h } from './dom.js';
import { jobView } from './job-view.js';
import { jobsView } from './jobs-view.js';
import { parseRoute } from './routes.js';

const main = document.getElementById('main')!;
const userBox = document.getElementById('user')!;
let current: { dispose(): void } | null = null;
let currentKey = '';

function mount(view: { el: HTMLElement; dispose(): void } | HTMLElement, title: string): void {
  current?.dispose();
  current = null;
  clear(main);
  if (view instanceof HTMLElement) main.append(view);
  else {
    current = view;
    main.append(view.el);
  }
  document.title = title;
  // every page has one h1: focus goes there, so keyboards and screen readers start at the top
  const heading = main.querySelector<HTMLElement>('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

function renderUser(): void {
  clear(userBox);
  const t = tokens.get();
  if (!t) return;
  userBox.append(
    h('span', { class: 'muted who' }, 'Signed in as ', h('strong', null, t.username ?? '…')),
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
    currentKey = 'auth';
    mount(
      authView(() => {
        if (!location.hash || location.hash === '#') location.hash = '#/';
        route();
      }),
      'Sign in · web-detector',
    );
    return;
  }
  const r = parseRoute(location.hash);
  const key = r.page === 'job' ? `job:${r.id}` : 'jobs';
  // the review page writes its filters into the URL: that is not a new page
  if (key === currentKey && r.page === 'job') return;
  currentKey = key;
  if (r.page === 'job') mount(jobView(r.id, r.query), 'Job · web-detector');
  else mount(jobsView(), 'Your videos · web-detector');
}

setSignedOutHandler(() => {
  currentKey = '';
  route();
});
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
