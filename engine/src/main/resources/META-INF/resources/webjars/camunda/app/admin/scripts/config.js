/*
 * SmartFin Admin configuration, served by the engine in place of the webapp's own config.js.
 *
 * Language: Simplified Chinese unless the user chose English with the switch at the bottom right (the
 * choice is shared with Tasklist and Cockpit, see ../../tasklist/smartfin/locale.js). The translation,
 * app/admin/locales/zh.json in the engine project, holds every key of the webapp's English file, so the
 * chosen language is the only one offered, as in Tasklist.
 */
import {chosenLocale} from '../../tasklist/smartfin/locale.js';

const locale = chosenLocale();

export default {
  app: locale === 'zh' ? {name: '系统管理', vendor: 'SmartFin'} : {name: 'Admin', vendor: 'SmartFin'},

  locales: {
    availableLocales: [locale],
    fallbackLocale: locale
  },

  customScripts: ['../tasklist/smartfin/language-switch']
};
