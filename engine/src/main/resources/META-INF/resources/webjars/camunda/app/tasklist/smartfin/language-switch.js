/*
 * SmartFin language switch for Tasklist: 中文 | English, kept in this browser (localStorage) and
 * read by scripts/config.js when Tasklist starts. Each language is named in its own language, as
 * language menus are. Switching reloads the page so that every label is rendered again.
 */
const LOCALE_KEY = 'smartfin.locale';
const LANGUAGES = [['zh', '中文'], ['en', 'English']];

function current() {
  try {
    return window.localStorage.getItem(LOCALE_KEY) === 'en' ? 'en' : 'zh';
  } catch (e) {
    return 'zh';
  }
}

function choose(locale) {
  try {
    window.localStorage.setItem(LOCALE_KEY, locale);
  } catch (e) {
    return;
  }
  window.location.reload();
}

function addSwitch() {
  if (document.getElementById('smartfin-language')) {
    return;
  }
  const box = document.createElement('div');
  box.id = 'smartfin-language';
  box.setAttribute('role', 'navigation');
  box.setAttribute('aria-label', current() === 'zh' ? '界面语言' : 'Language');
  LANGUAGES.forEach(function (entry) {
    const link = document.createElement('a');
    link.setAttribute('lang', entry[0]);
    link.setAttribute('data-locale', entry[0]);
    link.textContent = entry[1];
    if (entry[0] === current()) {
      link.className = 'active';
      link.setAttribute('aria-current', 'true');
    } else {
      link.href = '';
      link.addEventListener('click', function (event) {
        event.preventDefault();
        choose(entry[0]);
      });
    }
    box.appendChild(link);
  });
  document.body.appendChild(box);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', addSwitch);
} else {
  addSwitch();
}
document.documentElement.setAttribute('lang', current() === 'zh' ? 'zh-CN' : 'en');
