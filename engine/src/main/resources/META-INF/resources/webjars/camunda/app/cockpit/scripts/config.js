/*
 * SmartFin Cockpit configuration, served by the engine in place of the webapp's own config.js.
 *
 * Language: Simplified Chinese unless the user chose English with the switch at the bottom right (the
 * choice is shared with Tasklist and Admin, see ../../tasklist/smartfin/locale.js). The translation,
 * app/cockpit/locales/zh.json in the engine project, covers the navigation, the dashboard, the process,
 * decision and task lists and the instance views; labels it does not hold fall back to the webapp's English.
 */
import {answerAsBrowserLanguage, chosenLocale} from '../../tasklist/smartfin/locale.js';

const locale = chosenLocale();
answerAsBrowserLanguage(locale);

export default {
  app: locale === 'zh' ? {name: '流程监控', vendor: 'SmartFin'} : {name: 'Cockpit', vendor: 'SmartFin'},

  locales: {
    availableLocales: [locale],
    fallbackLocale: 'en'
  },

  customScripts: ['../tasklist/smartfin/language-switch']
};
