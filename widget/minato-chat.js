/*
 * Minato City chat widget: plain JavaScript, no framework, no build step, no CDN.
 *
 * Embed with one tag (see docs/widget.md):
 *   <script src="https://HOST/webhooks/web/static/minato-chat.js"
 *           data-server="https://HOST" data-lang="ja" data-title="港区 外国人向け案内" defer></script>
 *
 * Talks to bot/channels/web.py: POST /session (signed token), POST /webhook, GET /history.
 * Everything from the user or the server is rendered with textContent/createElement,
 * never innerHTML, so markup in a message is shown, not run.
 */
(() => {
  'use strict';

  if (window.MinatoChat) return; // the script was included twice
  const script = document.currentScript;
  if (!script) return;

  // ------------------------------------------------------------------ configuration
  const scriptUrl = new URL(script.src, location.href);
  const ds = script.dataset;
  const SERVER = (ds.server || scriptUrl.origin).replace(/\/+$/, '');
  const API = SERVER + '/webhooks/web';
  const CSS_URL = new URL('minato-chat.css', scriptUrl).href;
  const STORE_PREFIX = 'minato-chat:' + SERVER + ':';
  const MAX_CHARS = 5000;
  const REQUEST_TIMEOUT_MS = 45000;
  const MAX_SERVER_RETRIES = 5;
  const TRANSCRIPT_CACHE = 100;

  // The ten answer languages, each named in its own script.
  const LANGS = [
    { code: 'en', name: 'English', tag: 'en' },
    { code: 'ja', name: '日本語', tag: 'ja' },
    { code: 'ja-easy', name: 'やさしい日本語', tag: 'ja' },
    { code: 'zh', name: '中文', tag: 'zh-Hans' },
    { code: 'ko', name: '한국어', tag: 'ko' },
    { code: 'vi', name: 'Tiếng Việt', tag: 'vi' },
    { code: 'ne', name: 'नेपाली', tag: 'ne' },
    { code: 'tl', name: 'Tagalog', tag: 'tl' },
    { code: 'pt', name: 'Português', tag: 'pt' },
    { code: 'es', name: 'Español', tag: 'es' },
  ];
  const LANG_CODES = LANGS.map((l) => l.code);

  // Short UI strings. Answers themselves come from the assistant in the chosen language.
  const I18N = {
    en: {
      title: 'Minato City Help', open: 'Open chat with Minato City', close: 'Close chat',
      language: 'Language', placeholder: 'Type your question…', send: 'Send',
      typing: 'Answering…', sending: 'Sending…', queued: 'Will send when online',
      failed: 'Not sent', retry: 'Retry',
      offline: 'You are offline. Your messages will be sent when the connection is back.',
      openNow: 'Open now', closedNow: 'Closed now', hours: 'Hours', place: 'Place',
      newChat: 'New conversation',
      newChatConfirm: 'Start a new conversation? The current one will be cleared from this device.',
      welcome: 'Hello! Ask me about procedures and services in Minato City.',
      log: 'Conversation', you: 'You', bot: 'Assistant',
      external: 'Not a Minato City office',
      error: 'The assistant could not answer. Please try again.',
    },
    ja: {
      title: '港区 ご案内', open: '港区のチャットを開く', close: 'チャットを閉じる',
      language: '言語', placeholder: '質問を入力してください…', send: '送信',
      typing: '回答を作成中…', sending: '送信中…', queued: 'オンラインになったら送信します',
      failed: '送信できませんでした', retry: '再送信',
      offline: 'オフラインです。接続が戻るとメッセージを送信します。',
      openNow: '受付中', closedNow: '受付時間外', hours: '受付時間', place: '場所',
      newChat: '新しい会話',
      newChatConfirm: '新しい会話を始めますか？この端末から今の会話が消えます。',
      welcome: 'こんにちは。港区の手続きやサービスについて質問してください。',
      log: '会話', you: 'あなた', bot: 'アシスタント',
      external: '港区以外の機関',
      error: '回答できませんでした。もう一度お試しください。',
    },
    'ja-easy': {
      title: 'みなとく あんない', open: 'チャットを ひらく', close: 'チャットを とじる',
      language: 'ことば', placeholder: 'しつもんを かいてください', send: 'おくる',
      typing: 'こたえを つくっています…', sending: 'おくっています…',
      queued: 'インターネットに つながったら おくります',
      failed: 'おくれませんでした', retry: 'もう いちど おくる',
      offline: 'いま インターネットに つながっていません。つながったら メッセージを おくります。',
      openNow: 'いま あいています', closedNow: 'いま しまっています', hours: 'じかん', place: 'ばしょ',
      newChat: 'あたらしい かいわ',
      newChatConfirm: 'あたらしい かいわを はじめますか？ いまの かいわは きえます。',
      welcome: 'こんにちは。みなとくの てつづきや サービスについて きいてください。',
      log: 'かいわ', you: 'あなた', bot: 'あんない',
      external: 'みなとく では ない ところ',
      error: 'こたえられませんでした。もう いちど おくってください。',
    },
    zh: {
      title: '港区 外国人咨询', open: '打开港区聊天窗口', close: '关闭聊天',
      language: '语言', placeholder: '请输入您的问题…', send: '发送',
      typing: '正在回答…', sending: '正在发送…', queued: '联网后发送',
      failed: '未发送', retry: '重试',
      offline: '您已离线。恢复连接后将发送您的消息。',
      openNow: '现在开放', closedNow: '现在不开放', hours: '办公时间', place: '地点',
      newChat: '新对话',
      newChatConfirm: '要开始新对话吗？当前对话将从本设备清除。',
      welcome: '您好！请咨询港区的各种手续和服务。',
      log: '对话', you: '您', bot: '助手',
      external: '非港区机构',
      error: '暂时无法回答，请重试。',
    },
    ko: {
      title: '미나토구 안내', open: '미나토구 채팅 열기', close: '채팅 닫기',
      language: '언어', placeholder: '질문을 입력하세요…', send: '보내기',
      typing: '답변 작성 중…', sending: '보내는 중…', queued: '온라인이 되면 보냅니다',
      failed: '보내지 못했습니다', retry: '다시 보내기',
      offline: '오프라인 상태입니다. 연결되면 메시지를 보냅니다.',
      openNow: '지금 운영 중', closedNow: '지금 운영 시간 외', hours: '운영 시간', place: '장소',
      newChat: '새 대화',
      newChatConfirm: '새 대화를 시작할까요? 현재 대화는 이 기기에서 삭제됩니다.',
      welcome: '안녕하세요! 미나토구의 절차와 서비스에 대해 물어보세요.',
      log: '대화', you: '나', bot: '도우미',
      external: '미나토구 외 기관',
      error: '답변하지 못했습니다. 다시 시도해 주세요.',
    },
    vi: {
      title: 'Hỗ trợ quận Minato', open: 'Mở trò chuyện với quận Minato', close: 'Đóng trò chuyện',
      language: 'Ngôn ngữ', placeholder: 'Nhập câu hỏi của bạn…', send: 'Gửi',
      typing: 'Đang trả lời…', sending: 'Đang gửi…', queued: 'Sẽ gửi khi có mạng',
      failed: 'Chưa gửi được', retry: 'Gửi lại',
      offline: 'Bạn đang ngoại tuyến. Tin nhắn sẽ được gửi khi có kết nối trở lại.',
      openNow: 'Đang mở cửa', closedNow: 'Đã đóng cửa', hours: 'Giờ làm việc', place: 'Địa điểm',
      newChat: 'Cuộc trò chuyện mới',
      newChatConfirm: 'Bắt đầu cuộc trò chuyện mới? Cuộc trò chuyện hiện tại sẽ bị xóa khỏi thiết bị này.',
      welcome: 'Xin chào! Hãy hỏi về thủ tục và dịch vụ của quận Minato.',
      log: 'Cuộc trò chuyện', you: 'Bạn', bot: 'Trợ lý',
      external: 'Không phải cơ quan của quận Minato',
      error: 'Trợ lý chưa trả lời được. Vui lòng thử lại.',
    },
    ne: {
      title: 'मिनातो सिटी सहायता', open: 'मिनातो सिटीसँग च्याट खोल्नुहोस्', close: 'च्याट बन्द गर्नुहोस्',
      language: 'भाषा', placeholder: 'आफ्नो प्रश्न लेख्नुहोस्…', send: 'पठाउनुहोस्',
      typing: 'जवाफ दिँदै…', sending: 'पठाउँदै…', queued: 'इन्टरनेट जोडिएपछि पठाइनेछ',
      failed: 'पठाइएन', retry: 'फेरि पठाउनुहोस्',
      offline: 'तपाईं अफलाइन हुनुहुन्छ। जडान फर्केपछि सन्देशहरू पठाइनेछन्।',
      openNow: 'अहिले खुला छ', closedNow: 'अहिले बन्द छ', hours: 'समय', place: 'ठाउँ',
      newChat: 'नयाँ कुराकानी',
      newChatConfirm: 'नयाँ कुराकानी सुरु गर्ने? हालको कुराकानी यो उपकरणबाट मेटिनेछ।',
      welcome: 'नमस्ते! मिनातो सिटीका प्रक्रिया र सेवाहरूबारे सोध्नुहोस्।',
      log: 'कुराकानी', you: 'तपाईं', bot: 'सहायक',
      external: 'मिनातो सिटीको कार्यालय होइन',
      error: 'सहायकले जवाफ दिन सकेन। कृपया फेरि प्रयास गर्नुहोस्।',
    },
    tl: {
      title: 'Tulong ng Minato City', open: 'Buksan ang chat ng Minato City', close: 'Isara ang chat',
      language: 'Wika', placeholder: 'I-type ang iyong tanong…', send: 'Ipadala',
      typing: 'Sumasagot…', sending: 'Ipinapadala…', queued: 'Ipapadala kapag online na',
      failed: 'Hindi naipadala', retry: 'Subukang muli',
      offline: 'Offline ka. Ipapadala ang iyong mga mensahe kapag bumalik ang koneksyon.',
      openNow: 'Bukas ngayon', closedNow: 'Sarado ngayon', hours: 'Oras', place: 'Lugar',
      newChat: 'Bagong usapan',
      newChatConfirm: 'Magsimula ng bagong usapan? Mabubura sa device na ito ang kasalukuyang usapan.',
      welcome: 'Kumusta! Magtanong tungkol sa mga proseso at serbisyo ng Minato City.',
      log: 'Usapan', you: 'Ikaw', bot: 'Katulong',
      external: 'Hindi opisina ng Minato City',
      error: 'Hindi nakasagot ang katulong. Pakisubukang muli.',
    },
    pt: {
      title: 'Atendimento de Minato', open: 'Abrir o chat de Minato', close: 'Fechar o chat',
      language: 'Idioma', placeholder: 'Digite sua pergunta…', send: 'Enviar',
      typing: 'Respondendo…', sending: 'Enviando…', queued: 'Será enviada quando estiver online',
      failed: 'Não enviada', retry: 'Tentar de novo',
      offline: 'Você está offline. Suas mensagens serão enviadas quando a conexão voltar.',
      openNow: 'Aberto agora', closedNow: 'Fechado agora', hours: 'Horário', place: 'Local',
      newChat: 'Nova conversa',
      newChatConfirm: 'Começar uma nova conversa? A conversa atual será apagada deste aparelho.',
      welcome: 'Olá! Pergunte sobre procedimentos e serviços da cidade de Minato.',
      log: 'Conversa', you: 'Você', bot: 'Assistente',
      external: 'Não é um órgão de Minato',
      error: 'O assistente não conseguiu responder. Tente de novo.',
    },
    es: {
      title: 'Atención de Minato', open: 'Abrir el chat de Minato', close: 'Cerrar el chat',
      language: 'Idioma', placeholder: 'Escriba su pregunta…', send: 'Enviar',
      typing: 'Respondiendo…', sending: 'Enviando…', queued: 'Se enviará cuando haya conexión',
      failed: 'No enviado', retry: 'Reintentar',
      offline: 'No hay conexión. Sus mensajes se enviarán cuando vuelva la conexión.',
      openNow: 'Abierto ahora', closedNow: 'Cerrado ahora', hours: 'Horario', place: 'Lugar',
      newChat: 'Nueva conversación',
      newChatConfirm: '¿Empezar una nueva conversación? La actual se borrará de este dispositivo.',
      welcome: '¡Hola! Pregunte sobre trámites y servicios de la ciudad de Minato.',
      log: 'Conversación', you: 'Usted', bot: 'Asistente',
      external: 'No es una oficina de Minato',
      error: 'El asistente no pudo responder. Inténtelo de nuevo.',
    },
  };

  // --------------------------------------------------------------------- storage
  // localStorage can be missing or throw (private modes, storage disabled): then keep
  // the state in memory so the widget still works for the current page.
  const storage = (() => {
    try {
      const probe = STORE_PREFIX + 'probe';
      window.localStorage.setItem(probe, '1');
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      const memory = new Map();
      return {
        getItem: (k) => (memory.has(k) ? memory.get(k) : null),
        setItem: (k, v) => { memory.set(k, String(v)); },
        removeItem: (k) => { memory.delete(k); },
      };
    }
  })();
  const store = {
    get(key) {
      try { return storage.getItem(STORE_PREFIX + key); } catch (e) { return null; }
    },
    set(key, value) {
      try { storage.setItem(STORE_PREFIX + key, value); } catch (e) { /* quota: keep going */ }
    },
    remove(key) {
      try { storage.removeItem(STORE_PREFIX + key); } catch (e) { /* nothing to do */ }
    },
    getJSON(key, fallback) {
      try {
        const value = JSON.parse(this.get(key));
        return value ?? fallback;
      } catch (e) {
        return fallback;
      }
    },
    setJSON(key, value) { this.set(key, JSON.stringify(value)); },
  };

  // The outbox: always read-modify-write from storage so several tabs never overwrite
  // each other's messages. Items: {id, text, display, language, ts}.
  const outbox = {
    all() { const q = store.getJSON('queue', []); return Array.isArray(q) ? q : []; },
    add(item) { const q = this.all(); q.push(item); store.setJSON('queue', q); },
    remove(id) { store.setJSON('queue', this.all().filter((i) => i.id !== id)); },
    clear() { store.remove('queue'); },
  };

  // -------------------------------------------------------------------- language
  function normalizeLang(tag) {
    if (!tag || typeof tag !== 'string') return null;
    const lower = tag.trim().toLowerCase().replace('_', '-');
    if (LANG_CODES.includes(lower)) return lower;
    let primary = lower.split('-')[0];
    if (primary === 'fil') primary = 'tl';
    return LANG_CODES.includes(primary) ? primary : null;
  }

  function browserLanguage() {
    const list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    return list.find((l) => typeof l === 'string' && l) || '';
  }

  function defaultLanguage() {
    const candidates = [ds.lang, document.documentElement.getAttribute('lang')]
      .concat(navigator.languages ? Array.from(navigator.languages) : [navigator.language]);
    for (const c of candidates) {
      const code = normalizeLang(c);
      if (code) return code;
    }
    return 'en';
  }

  const storedLang = normalizeLang(store.get('lang'));
  const state = {
    // An explicit choice in the picker is sent as metadata.language and remembered;
    // until then the page/browser default only sets the UI (and the browser language
    // goes as language_hint), so the assistant can still detect what people type.
    lang: storedLang || defaultLanguage(),
    langExplicit: !!storedLang,
    token: store.get('session'),
    sessionPromise: null,
    started: false,
    startPromise: null,
    pumping: false,
    retryTimer: null,
    retryDelay: 1000,
    serverRetries: {},
    transcript: [],
  };

  // A string of the UI's language, or of `lang` when given and known (a contact card's labels
  // follow the card's language: a Spanish answer in a Japanese UI shows 'Horario', not '受付時間').
  function t(key, lang) {
    const code = lang && I18N[lang] ? lang : state.lang;
    return (I18N[code] && I18N[code][key]) || I18N.en[key] || key;
  }
  function langTag(code) {
    const found = LANGS.find((l) => l.code === code);
    return found ? found.tag : code;
  }

  // --------------------------------------------------------------------- DOM helpers
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'class') node.className = value;
        else if (key === 'text') node.textContent = value;
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function svgIcon(pathData) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', pathData);
    svg.append(path);
    return svg;
  }
  const ICON_CHAT = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';
  const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';
  const ICON_SEND = 'M3 20l18-8L3 4v6l12 2-12 2z';
  const ICON_NEW = 'M12 5v14M5 12h14';

  // Plain text with safe links: http(s) URLs and Japanese phone numbers become <a>,
  // everything else stays a text node.
  const LINK_RE = /(https?:\/\/[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+)|(0\d{1,4}-\d{1,4}-\d{3,4})(?![\d-])/g;
  function telHref(number) {
    const digits = String(number || '').replace(/[^\d+]/g, '');
    if (!digits) return null;
    if (digits.startsWith('+')) return 'tel:' + digits;
    if (digits.startsWith('0')) return 'tel:+81' + digits.slice(1);
    return 'tel:' + digits;
  }
  function richText(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const match of String(text).matchAll(LINK_RE)) {
      let [value] = match;
      const start = match.index;
      // A phone number must not be the tail of a longer number (no look-behind:
      // older Safari cannot parse it).
      if (match[2] && start > 0 && /[\d+-]/.test(text[start - 1])) continue;
      if (match[1]) value = value.replace(/[.,;:!?)\]]+$/, '');
      if (start > last) frag.append(document.createTextNode(text.slice(last, start)));
      let href = null;
      if (match[1]) {
        try {
          const url = new URL(value);
          if (url.protocol === 'http:' || url.protocol === 'https:') href = url.href;
        } catch (e) { href = null; }
      } else {
        href = telHref(value);
      }
      if (href) {
        const a = el('a', { href, text: value });
        if (match[1]) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
        frag.append(a);
      } else {
        frag.append(document.createTextNode(value));
      }
      last = start + value.length;
    }
    if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  // ------------------------------------------------------------------------ build UI
  const host = el('div', { id: 'minato-chat', class: 'minato-chat-host' });
  host.hidden = true; // shown once the stylesheet has loaded (no flash of unstyled UI)
  const root = host.attachShadow({ mode: 'open' });
  const stylesheet = el('link', { rel: 'stylesheet', href: CSS_URL });
  const reveal = () => { host.hidden = false; };
  stylesheet.addEventListener('load', reveal);
  stylesheet.addEventListener('error', reveal);
  setTimeout(reveal, 3000);

  const launcher = el('button', {
    type: 'button', class: 'mc-launcher', 'aria-expanded': 'false', 'aria-controls': 'mc-panel',
  }, [svgIcon(ICON_CHAT), el('span', { class: 'mc-launcher-label' })]);

  const titleEl = el('h2', { id: 'mc-title', class: 'mc-title' });
  const subtitleEl = el('p', { class: 'mc-subtitle' });
  const langLabel = el('label', { for: 'mc-lang', class: 'mc-lang-label' });
  const langSelect = el('select', { id: 'mc-lang', class: 'mc-lang' },
    LANGS.map((l) => el('option', { value: l.code, lang: l.tag, text: l.name })));
  const newChatBtn = el('button', { type: 'button', class: 'mc-icon-btn mc-new' }, [svgIcon(ICON_NEW)]);
  const closeBtn = el('button', { type: 'button', class: 'mc-icon-btn mc-close' }, [svgIcon(ICON_CLOSE)]);
  const header = el('div', { class: 'mc-header' }, [
    el('div', { class: 'mc-heading' }, [titleEl, subtitleEl]), newChatBtn, closeBtn,
  ]);
  const langBar = el('div', { class: 'mc-langbar' }, [langLabel, langSelect]);

  const offlineBanner = el('p', { class: 'mc-offline', role: 'status' });
  const log = el('div', {
    class: 'mc-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions',
    tabindex: '0',
  });
  const typing = el('div', { class: 'mc-typing', role: 'status' }, [
    el('span', { class: 'mc-dots', 'aria-hidden': 'true' }, [el('span'), el('span'), el('span')]),
    el('span', { class: 'mc-typing-text' }),
  ]);
  typing.hidden = true;

  const input = el('textarea', {
    id: 'mc-input', class: 'mc-input', rows: '1', maxlength: String(MAX_CHARS), autocomplete: 'off',
  });
  const inputLabel = el('label', { for: 'mc-input', class: 'mc-visually-hidden' });
  const sendBtn = el('button', { type: 'submit', class: 'mc-send' }, [svgIcon(ICON_SEND)]);
  const form = el('form', { class: 'mc-composer' }, [inputLabel, input, sendBtn]);

  const panel = el('section', {
    id: 'mc-panel', class: 'mc-panel', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': 'mc-title',
  }, [header, langBar, offlineBanner, log, typing, form]);
  panel.hidden = true;

  const container = el('div', { class: 'mc-root' }, [launcher, panel]);
  root.append(stylesheet, container);

  function applyLanguage() {
    const tag = langTag(state.lang);
    container.setAttribute('lang', tag);
    langSelect.value = state.lang;
    const customTitle = (ds.title || '').trim();
    titleEl.textContent = customTitle || t('title');
    const showSubtitle = customTitle && !state.lang.startsWith('ja');
    subtitleEl.textContent = showSubtitle ? t('title') : '';
    subtitleEl.hidden = !showSubtitle;
    launcher.setAttribute('aria-label', t('open'));
    launcher.title = t('open');
    launcher.querySelector('.mc-launcher-label').textContent = customTitle || t('title');
    langLabel.textContent = t('language');
    newChatBtn.setAttribute('aria-label', t('newChat'));
    newChatBtn.title = t('newChat');
    closeBtn.setAttribute('aria-label', t('close'));
    closeBtn.title = t('close');
    log.setAttribute('aria-label', t('log'));
    typing.querySelector('.mc-typing-text').textContent = t('typing');
    input.placeholder = t('placeholder');
    inputLabel.textContent = t('placeholder');
    sendBtn.setAttribute('aria-label', t('send'));
    sendBtn.title = t('send');
    offlineBanner.textContent = t('offline');
    for (const w of log.querySelectorAll('.mc-welcome .mc-text')) w.textContent = t('welcome');
    for (const s of log.querySelectorAll('.mc-sr-you')) s.textContent = t('you') + ': ';
    for (const s of log.querySelectorAll('.mc-sr-bot')) s.textContent = t('bot') + ': ';
    for (const b of log.querySelectorAll('.mc-msg[data-status]')) setStatus(b, b.dataset.status);
  }

  function updateOnline() {
    offlineBanner.hidden = navigator.onLine !== false;
  }

  // --------------------------------------------------------------------- rendering
  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function speaker(who) {
    return el('span', { class: 'mc-visually-hidden mc-sr-' + who, text: t(who) + ': ' });
  }

  function renderWelcome() {
    if (log.querySelector('.mc-welcome')) return;
    log.prepend(el('div', { class: 'mc-msg mc-bot mc-welcome' }, [
      el('p', { class: 'mc-bubble mc-text', text: t('welcome') }),
    ]));
  }

  function renderUser(text, id, status) {
    const node = el('div', { class: 'mc-msg mc-user', 'data-id': id || null }, [
      el('p', { class: 'mc-bubble' }, [speaker('you'), el('span', { class: 'mc-text', text })]),
      el('p', { class: 'mc-status' }),
    ]);
    log.append(node);
    if (status) setStatus(node, status);
    scrollToEnd();
    return node;
  }

  function setStatus(node, status, detail) {
    if (!node) return;
    const line = node.querySelector('.mc-status');
    line.replaceChildren();
    if (!status) {
      delete node.dataset.status;
      line.hidden = true;
      return;
    }
    node.dataset.status = status;
    line.hidden = false;
    line.append(el('span', { class: 'mc-status-text', text: t(status) + (detail ? ' — ' + detail : '') }));
    if (status === 'failed') {
      const retry = el('button', { type: 'button', class: 'mc-retry', text: t('retry') });
      retry.addEventListener('click', () => {
        const text = node.dataset.text;
        if (!text) return;
        const item = {
          id: node.dataset.id, text, display: node.querySelector('.mc-text').textContent,
          language: node.dataset.language || null, ts: Date.now(),
        };
        delete state.serverRetries[item.id];
        outbox.add(item);
        setStatus(node, navigator.onLine === false ? 'queued' : 'sending');
        pump();
      });
      line.append(' ', retry);
    }
  }

  function renderCard(card) {
    const cardLang = typeof card.lang === 'string' ? card.lang : null;
    const article = el('article', {
      class: 'mc-card', lang: typeof card.lang === 'string' ? langTag(card.lang) : null,
    });
    if (card.title) article.append(el('h3', { class: 'mc-card-title', text: String(card.title) }));
    if (card.name_ja && card.name_ja !== card.title) {
      article.append(el('p', { class: 'mc-card-name', lang: 'ja', text: String(card.name_ja) }));
    }
    if (card.open_now === true || card.open_now === false) {
      const open = card.open_now === true;
      const label = typeof card.status === 'string' && card.status ? card.status : t(open ? 'openNow' : 'closedNow', cardLang);
      article.append(el('p', { class: 'mc-badge ' + (open ? 'mc-open' : 'mc-closed'), text: label }));
    }
    if (card.external === true) {
      article.append(el('p', { class: 'mc-card-external', text: t('external', cardLang) }));
    }
    const phones = Array.isArray(card.phones) ? card.phones : [];
    if (phones.length) {
      const list = el('ul', { class: 'mc-phones' });
      for (const phone of phones) {
        if (!phone || typeof phone !== 'object' || !phone.number) continue;
        const number = String(phone.number);
        const tel = typeof phone.tel === 'string' && /^tel:\+?[0-9][0-9-]{3,24}$/.test(phone.tel)
          ? phone.tel : telHref(number);
        const item = el('li');
        if (phone.label) item.append(el('span', { class: 'mc-phone-label', text: String(phone.label) + ': ' }));
        item.append(tel ? el('a', { href: tel, class: 'mc-tel', text: number }) : el('span', { text: number }));
        list.append(item);
      }
      article.append(list);
    }
    const details = el('dl', { class: 'mc-details' });
    if (card.hours || card.hours_note) {
      details.append(el('dt', { text: t('hours', cardLang) }), el('dd', {}, [
        card.hours ? el('span', { text: String(card.hours) }) : null,
        card.hours_note ? el('span', { class: 'mc-note', text: String(card.hours_note) }) : null,
      ]));
    }
    if (card.place) {
      details.append(el('dt', { text: t('place', cardLang) }), el('dd', { text: String(card.place) }));
    }
    if (details.childElementCount) article.append(details);
    return article;
  }

  function renderQuickReplies(buttons) {
    const group = el('div', { class: 'mc-quick', role: 'group' });
    for (const button of buttons) {
      if (!button || typeof button !== 'object') continue;
      const title = String(button.title ?? button.payload ?? '').trim();
      const payload = String(button.payload ?? button.title ?? '').trim();
      if (!title || !payload || payload.length > MAX_CHARS) continue;
      const b = el('button', { type: 'button', class: 'mc-chip', text: title });
      b.addEventListener('click', () => {
        for (const other of group.querySelectorAll('button')) other.disabled = true;
        send(payload, title);
      });
      group.append(b);
    }
    return group.childElementCount ? group : null;
  }

  function renderBot(message) {
    if (!message || typeof message !== 'object') return;
    const node = el('div', { class: 'mc-msg mc-bot' });
    const custom = message.custom;
    if (custom && typeof custom === 'object' && custom.type === 'contact_card') {
      node.append(speaker('bot'), renderCard(custom));
    } else if (custom && typeof custom === 'object' && typeof custom.text === 'string') {
      node.append(el('p', { class: 'mc-bubble' }, [speaker('bot'), richText(custom.text)]));
    }
    if (typeof message.text === 'string' && message.text) {
      node.append(el('p', { class: 'mc-bubble mc-text' }, [speaker('bot'), richText(message.text)]));
    }
    if (Array.isArray(message.buttons) && message.buttons.length) {
      const quick = renderQuickReplies(message.buttons);
      if (quick) node.append(quick);
    }
    if (node.childElementCount) {
      log.append(node);
      scrollToEnd();
    }
  }

  function remember(entry) {
    state.transcript.push(entry);
    state.transcript = state.transcript.slice(-TRANSCRIPT_CACHE);
    store.setJSON('transcript', state.transcript);
  }

  function renderHistory(messages) {
    for (const m of messages) {
      if (m.sender === 'user') renderUser(String(m.text ?? ''), m.client_msg_id);
      else renderBot(m);
    }
  }

  function showTyping(on) {
    typing.hidden = !on;
    if (on) scrollToEnd();
  }

  // --------------------------------------------------------------------- network
  async function api(path, options) {
    const opts = options || {};
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), opts.timeout || REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(API + path, {
        method: opts.method || 'GET',
        headers: opts.body ? { 'Content-Type': 'application/json' } : {},
        body: opts.body ? JSON.stringify(opts.body) : undefined,
        credentials: 'omit',
        cache: 'no-store',
        signal: controller.signal,
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      return { ok: res.ok, status: res.status, data };
    } finally {
      clearTimeout(timer);
    }
  }

  async function ensureSession() {
    if (state.token) return state.token;
    if (!state.sessionPromise) {
      state.sessionPromise = (async () => {
        const res = await api('/session', { method: 'POST' });
        if (!res.ok || !res.data || typeof res.data.session !== 'string') {
          throw new Error('session ' + res.status);
        }
        state.token = res.data.session;
        store.set('session', state.token);
        return state.token;
      })().finally(() => { state.sessionPromise = null; });
    }
    return state.sessionPromise;
  }

  function dropSession() {
    state.token = null;
    store.remove('session');
    state.transcript = [];
    store.remove('transcript');
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function loadHistory() {
    let messages = null;
    if (state.token) {
      try {
        const res = await api('/history?session=' + encodeURIComponent(state.token));
        if (res.status === 401) dropSession();
        else if (res.ok && res.data && Array.isArray(res.data.messages)) messages = res.data.messages;
      } catch (e) {
        messages = null; // offline: fall back to the copy kept on this device
      }
    } else {
      messages = [];
    }
    if (messages === null) messages = store.getJSON('transcript', []);
    state.transcript = messages.slice(-TRANSCRIPT_CACHE);
    store.setJSON('transcript', state.transcript);

    // Messages the server already answered (e.g. the page closed while waiting) leave
    // the outbox: their question and answer are in the history.
    const answered = new Set(messages.filter((m) => m.sender === 'user' && m.client_msg_id)
      .map((m) => m.client_msg_id));
    for (const item of outbox.all()) if (answered.has(item.id)) outbox.remove(item.id);

    log.replaceChildren();
    renderWelcome();
    renderHistory(messages);
    for (const item of outbox.all()) {
      const node = renderUser(item.display || item.text, item.id, navigator.onLine === false ? 'queued' : 'sending');
      node.dataset.text = item.text;
      if (item.language) node.dataset.language = item.language;
    }
  }

  function scheduleRetry() {
    if (state.retryTimer) return;
    const delay = state.retryDelay;
    state.retryDelay = Math.min(state.retryDelay * 2, 30000);
    state.retryTimer = setTimeout(() => {
      state.retryTimer = null;
      pump();
    }, delay + Math.floor(Math.random() * 250));
  }

  function nodeFor(item) {
    let node = log.querySelector('.mc-msg.mc-user[data-id="' + CSS.escape(item.id) + '"]');
    if (!node) {
      node = renderUser(item.display || item.text, item.id); // queued in another tab
    }
    node.dataset.text = item.text;
    if (item.language) node.dataset.language = item.language;
    return node;
  }

  function markWaiting() {
    for (const item of outbox.all()) setStatus(nodeFor(item), 'queued');
  }

  // Sends the outbox in order, one message at a time. A message leaves the outbox only
  // when the server answered it (or refused it for good), so nothing is lost; retries
  // carry the same client_msg_id, so the server never handles one twice.
  async function pump() {
    if (state.pumping || !state.started) return;
    state.pumping = true;
    try {
      for (;;) {
        const item = outbox.all()[0];
        if (!item) break;
        const node = nodeFor(item);
        if (navigator.onLine === false) { markWaiting(); break; }
        setStatus(node, 'sending');
        showTyping(true);
        let res;
        try {
          await ensureSession();
          const metadata = { language_hint: browserLanguage() };
          if (item.language) metadata.language = item.language;
          res = await api('/webhook', {
            method: 'POST',
            body: { session: state.token, message: item.text, client_msg_id: item.id, metadata },
          });
        } catch (e) {
          showTyping(false);
          markWaiting();
          scheduleRetry();
          break;
        }
        showTyping(false);
        if (res.ok) {
          state.retryDelay = 1000;
          delete state.serverRetries[item.id];
          outbox.remove(item.id);
          setStatus(node, null);
          remember({ sender: 'user', text: item.display || item.text, client_msg_id: item.id });
          for (const message of Array.isArray(res.data) ? res.data : []) {
            renderBot(message);
            remember(Object.assign({ sender: 'bot' }, message));
          }
          continue;
        }
        if (res.status === 401) {
          // The server no longer accepts this token (expired, or its secret changed): start a new
          // session and send the message again.
          dropSession();
          state.serverRetries[item.id] = (state.serverRetries[item.id] || 0) + 1;
          if (state.serverRetries[item.id] <= 2) continue;
        }
        if (res.status >= 500 || res.status === 429 || res.status === 408) {
          state.serverRetries[item.id] = (state.serverRetries[item.id] || 0) + 1;
          if (state.serverRetries[item.id] < MAX_SERVER_RETRIES) {
            setStatus(node, 'sending');
            scheduleRetry();
            break;
          }
        }
        // Refused for good (e.g. 400): keep the text visible with a retry button.
        outbox.remove(item.id);
        setStatus(node, 'failed', res.data && res.data.detail ? String(res.data.detail) : '');
      }
    } finally {
      state.pumping = false;
    }
  }

  function send(text, display) {
    const message = String(text || '').trim();
    if (!message) return;
    if (message.length > MAX_CHARS) return;
    const item = {
      id: newId(),
      text: message,
      display: String(display || message),
      language: state.langExplicit ? state.lang : null,
      ts: Date.now(),
    };
    outbox.add(item);
    const node = renderUser(item.display, item.id, navigator.onLine === false ? 'queued' : 'sending');
    node.dataset.text = item.text;
    if (item.language) node.dataset.language = item.language;
    start().then(pump);
  }

  // ------------------------------------------------------------------- behaviour
  async function start() {
    if (state.started) return;
    if (state.startPromise) return state.startPromise;
    state.startPromise = (async () => {
      try {
        await loadHistory();
      } catch (e) {
        renderWelcome();
      }
      state.started = true;
    })();
    return state.startPromise;
  }

  // `restoring`: the panel was open before a reload; show it again without taking
  // the keyboard focus away from the page.
  function open(restoring) {
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    container.classList.add('mc-is-open');
    store.set('open', '1');
    start().then(pump);
    if (restoring !== true) input.focus();
    scrollToEnd();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    container.classList.remove('mc-is-open');
    store.set('open', '0');
    launcher.focus();
  }

  launcher.addEventListener('click', () => (panel.hidden ? open() : close()));
  closeBtn.addEventListener('click', close);
  container.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !panel.hidden && !event.defaultPrevented) {
      event.preventDefault();
      close();
    }
  });

  langSelect.addEventListener('change', () => {
    const code = normalizeLang(langSelect.value);
    if (!code) return;
    state.lang = code;
    state.langExplicit = true;
    store.set('lang', code);
    applyLanguage();
  });

  newChatBtn.addEventListener('click', () => {
    if (!window.confirm(t('newChatConfirm'))) return;
    outbox.clear();
    dropSession();
    log.replaceChildren();
    renderWelcome();
    input.focus();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    autoGrow();
    send(text);
  });

  input.addEventListener('keydown', (event) => {
    // Enter sends, Shift+Enter is a new line; never send while an IME (Japanese,
    // Chinese, Korean input) is still composing.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event('submit', { cancelable: true }));
    }
  });

  function autoGrow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 140) + 'px';
  }
  input.addEventListener('input', autoGrow);

  window.addEventListener('online', () => {
    updateOnline();
    state.retryDelay = 1000;
    if (state.retryTimer) { clearTimeout(state.retryTimer); state.retryTimer = null; }
    pump();
  });
  window.addEventListener('offline', () => {
    updateOnline();
    markWaiting();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') pump();
  });

  function mount() {
    applyLanguage();
    updateOnline();
    document.body.append(host);
    if (store.get('open') === '1') open(true);
    else if (outbox.all().length) start().then(pump); // deliver what was typed before
  }

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  window.MinatoChat = Object.freeze({ open: () => open(), close });
})();
