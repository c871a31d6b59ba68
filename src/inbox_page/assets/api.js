// The REST client: a session (access token in memory only, refresh token in sessionStorage so a
// reload of this tab stays signed in), refreshed a minute before it expires or when a request
// answers 401, and requests that speak the API's error shape.

const REFRESH_KEY = 'switchboard.refresh_token';
const ORG_KEY = 'switchboard.organization';

/** An error answer of the API ({error: {code, message, details}}) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class Api {
  /** `onSessionLost` runs when the session cannot be renewed (sign in again). */
  constructor({ onSessionLost } = {}) {
    this.onSessionLost = onSessionLost || (() => {});
    this.session = null;
    this.refreshing = null;
    this.timer = null;
  }

  get signedIn() {
    return this.session !== null;
  }

  get userId() {
    return this.session?.user_id ?? null;
  }

  /** Email + password (+ organisation slug when the person belongs to several). */
  async login(email, password, organization) {
    const body = { email, password };
    if (organization) body.organization = organization;
    const session = await this.raw('POST', '/api/v1/auth/login', body);
    this.adopt(session);
    return session;
  }

  /** Signs back in with this tab's refresh token, if it has one. */
  async resume() {
    if (!sessionStorage.getItem(REFRESH_KEY)) return false;
    try {
      await this.refresh();
      return true;
    } catch {
      return false;
    }
  }

  /** Trades the refresh token for a new session; concurrent callers share one exchange. */
  refresh() {
    if (!this.refreshing) {
      const token = sessionStorage.getItem(REFRESH_KEY);
      this.refreshing = (async () => {
        try {
          if (!token) throw new ApiError(401, 'unauthorized', 'not signed in');
          const session = await this.raw('POST', '/api/v1/auth/refresh', { refresh_token: token });
          this.adopt(session);
          return session;
        } catch (error) {
          if (error.status === 401) this.forget();
          throw error;
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  /** Ends the session on the server and here. */
  async logout() {
    const token = sessionStorage.getItem(REFRESH_KEY);
    this.forget();
    if (token) {
      await this.raw('POST', '/api/v1/auth/logout', { refresh_token: token }).catch(() => {});
    }
  }

  adopt(session) {
    this.session = session;
    sessionStorage.setItem(REFRESH_KEY, session.refresh_token);
    clearTimeout(this.timer);
    const lead = Math.max(5, Number(session.expires_in || 900) - 60);
    this.schedule(lead * 1000);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refresh().catch((error) => {
        // Offline for a moment: try again soon; refused: the session is over.
        if (error.status === 401) this.lost();
        else this.schedule(10000);
      });
    }, ms);
  }

  forget() {
    clearTimeout(this.timer);
    this.session = null;
    sessionStorage.removeItem(REFRESH_KEY);
  }

  lost() {
    if (this.session !== null) return;
    this.onSessionLost();
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body = {}) {
    return this.request('POST', path, body);
  }

  patch(path, body = {}) {
    return this.request('PATCH', path, body);
  }

  delete(path) {
    return this.request('DELETE', path);
  }

  /** An authenticated request; a 401 renews the session once and retries. */
  async request(method, path, body) {
    if (!this.session) {
      await this.refresh().catch((error) => {
        this.lost();
        throw error;
      });
    }
    try {
      return await this.raw(method, path, body, this.session.access_token);
    } catch (error) {
      if (error.status !== 401) throw error;
      try {
        await this.refresh();
      } catch (refreshError) {
        this.lost();
        throw refreshError;
      }
      return this.raw(method, path, body, this.session.access_token);
    }
  }

  async raw(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      throw new ApiError(0, 'network_error', 'The server cannot be reached.', { cause: String(error) });
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const error = data?.error || {};
      throw new ApiError(response.status, error.code || 'http_error', error.message || response.statusText, error.details);
    }
    return data;
  }
}

/** The organisation slug last used on this device (prefills the login form). */
export function rememberedOrganization() {
  return localStorage.getItem(ORG_KEY) || '';
}

export function rememberOrganization(slug) {
  if (slug) localStorage.setItem(ORG_KEY, slug);
  else localStorage.removeItem(ORG_KEY);
}
