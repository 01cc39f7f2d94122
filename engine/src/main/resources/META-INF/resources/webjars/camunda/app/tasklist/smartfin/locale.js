/*
 * SmartFin: the interface language of Tasklist, Cockpit and Admin, in one place.
 *
 * The user's choice (中文 | English, made with language-switch.js) is kept in this browser and is the same for
 * the three webapps, which share the engine's origin; Simplified Chinese when nothing was chosen, whatever
 * language the browser asks for, because hospital staff work in Chinese.
 */
export const LOCALE_KEY = 'smartfin.locale';
export const SUPPORTED = ['zh', 'en'];

/** The language chosen in this browser, 'zh' unless the user chose English. */
export function chosenLocale() {
  try {
    const stored = window.localStorage.getItem(LOCALE_KEY);
    return SUPPORTED.indexOf(stored) > -1 ? stored : 'zh';
  } catch (e) {
    return 'zh';
  }
}

/** Keep a choice and show the page again in that language. */
export function chooseLocale(locale) {
  try {
    window.localStorage.setItem(LOCALE_KEY, locale);
  } catch (e) {
    return;
  }
  window.location.reload();
}

/**
 * Make the webapp's language detection answer with the chosen language.
 *
 * The webapps take the browser's first language when it is among availableLocales and fallbackLocale
 * otherwise. Cockpit's translation is partial, so English must stay its fallback for the labels not yet
 * translated; the chosen language therefore has to be the one the browser "asks for" on this page.
 */
export function answerAsBrowserLanguage(locale) {
  const languages = locale === 'zh' ? ['zh-CN', 'zh'] : ['en-US', 'en'];
  try {
    Object.defineProperty(window.navigator, 'languages', {value: languages, configurable: true});
    Object.defineProperty(window.navigator, 'language', {value: languages[0], configurable: true});
  } catch (e) {
    // an old browser without configurable navigator properties keeps its own language
  }
}
