import { api } from './api.js';
import { field, h, messageOf } from './dom.js';

/** Sign-in and registration forms. `onSignedIn` runs once tokens are stored. */
export function authView(onSignedIn: () => void): HTMLElement {
  const error = h('p', { class: 'error', role: 'alert', 'aria-live': 'assertive' });
  const info = h('p', { class: 'info', role: 'status', 'aria-live': 'polite' });

  const makeForm = (mode: 'login' | 'register') => {
    const user = field(
      'Username',
      h('input', {
        name: 'username',
        autocomplete: 'username',
        required: true,
        minLength: 3,
        maxLength: 64,
        pattern: '[A-Za-z0-9_.\\-]+',
        spellcheck: false,
      }),
      mode === 'register' ? '3–64 letters, digits, or _ . -' : undefined,
    );
    const pass = field(
      'Password',
      h('input', {
        name: 'password',
        type: 'password',
        autocomplete: mode === 'login' ? 'current-password' : 'new-password',
        required: true,
        // the server's policy (PASSWORD_MIN_LENGTH in src/api/schemas.ts) for new passwords;
        // accounts made before it keep signing in with shorter ones
        minLength: mode === 'register' ? 12 : 1,
        maxLength: 256,
      }),
      mode === 'register' ? 'At least 12 characters, not your username.' : undefined,
    );
    const remember = h('input', { type: 'checkbox', name: 'remember', id: `remember-${mode}` });
    const submit = h(
      'button',
      { type: 'submit', class: 'primary' },
      mode === 'login' ? 'Sign in' : 'Create account',
    );
    const form = h(
      'form',
      { class: 'card auth', 'aria-labelledby': `${mode}-title`, novalidate: false },
      h('h2', { id: `${mode}-title` }, mode === 'login' ? 'Sign in' : 'Register'),
      user.wrap,
      pass.wrap,
      h(
        'div',
        { class: 'check' },
        remember,
        h('label', { for: remember.id }, 'Keep me signed in on this device'),
      ),
      submit,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      info.textContent = '';
      const username = user.input.value.trim();
      const password = pass.input.value;
      submit.disabled = true;
      try {
        if (mode === 'register') {
          await api.register(username, password);
          info.textContent = `Account ${username} created; signing in…`;
        }
        await api.login(username, password, remember.checked);
        onSignedIn();
      } catch (err) {
        error.textContent = messageOf(err, 'Something went wrong; please try again.');
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  };

  return h(
    'section',
    { class: 'auth-view', 'aria-labelledby': 'auth-title' },
    h('h1', { id: 'auth-title' }, 'Find the objects in your videos'),
    h(
      'p',
      { class: 'lead' },
      'Upload a video and see every object the detector finds in it, frame by frame.',
    ),
    error,
    info,
    h('div', { class: 'auth-forms' }, makeForm('login'), makeForm('register')),
  );
}
