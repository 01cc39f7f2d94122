/*
 * SmartFin language switch for Tasklist, Cockpit and Admin: 中文 | English, kept in this browser
 * (smartfin/locale.js) and read by each webapp's scripts/config.js when it starts. Each language is named
 * in its own language, as language menus are. Switching reloads the page so that every label is rendered
 * again. The switch brings its own style so that the three webapps show it alike.
 */
import {LOCALE_KEY, chooseLocale, chosenLocale} from './locale.js';

const LANGUAGES = [['zh', '中文'], ['en', 'English']];
const STYLE = `
#smartfin-language {
  position: fixed; right: 16px; bottom: 8px; z-index: 1000; font-size: 12px;
  background: rgba(255, 255, 255, 0.9); padding: 2px 8px; border-radius: 3px;
}
#smartfin-language a { cursor: pointer; margin: 0 4px; }
#smartfin-language a.active { font-weight: bold; color: inherit; cursor: default; text-decoration: none; }
`;

function addSwitch() {
  if (document.getElementById('smartfin-language')) {
    return;
  }
  const style = document.createElement('style');
  style.textContent = STYLE;
  document.head.appendChild(style);
  const current = chosenLocale();
  const box = document.createElement('div');
  box.id = 'smartfin-language';
  box.setAttribute('role', 'navigation');
  box.setAttribute('aria-label', current === 'zh' ? '界面语言' : 'Language');
  box.setAttribute('data-storage-key', LOCALE_KEY);
  LANGUAGES.forEach(function (entry) {
    const link = document.createElement('a');
    link.setAttribute('lang', entry[0]);
    link.setAttribute('data-locale', entry[0]);
    link.textContent = entry[1];
    if (entry[0] === current) {
      link.className = 'active';
      link.setAttribute('aria-current', 'true');
    } else {
      link.href = '';
      link.addEventListener('click', function (event) {
        event.preventDefault();
        chooseLocale(entry[0]);
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
document.documentElement.setAttribute('lang', chosenLocale() === 'zh' ? 'zh-CN' : 'en');
