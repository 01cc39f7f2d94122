/*
 * SmartFin Tasklist configuration, served by the engine in place of the webapp's own config.js.
 *
 * Language: Tasklist 7.24 takes the first language of the browser if it is among availableLocales
 * and falls back to fallbackLocale otherwise; it has no language menu of its own. Hospital staff work
 * in Simplified Chinese whatever their browser asks for, so the only locale offered is the one the
 * user chose with the language switch (stored in this browser), Chinese when nothing was chosen.
 * The translation is app/tasklist/locales/zh.json in the engine project; the choice is read in
 * smartfin/locale.js, shared with Cockpit and Admin.
 */
import {chosenLocale} from '../smartfin/locale.js';

const locale = chosenLocale();

export default {
  app: locale === 'zh' ? {name: '待办任务', vendor: 'SmartFin'} : {name: 'Tasklist', vendor: 'SmartFin'},

  dateFormat: {
    normal: 'LLL',
    long: 'LLLL'
  },

  locales: {
    availableLocales: [locale],
    fallbackLocale: locale
  },

  customScripts: ['smartfin/language-switch'],

  shortcuts: {
    claimTask: {
      key: 'ctrl+alt+c',
      description: locale === 'zh' ? '认领当前选中的任务' : 'claims the currently selected task'
    },
    focusFilter: {
      key: 'ctrl+shift+f',
      description: locale === 'zh' ? '跳到第一个筛选器' : 'set the focus to the first filter in the list'
    },
    focusList: {
      key: 'ctrl+alt+l',
      description: locale === 'zh' ? '跳到任务列表的第一个任务' : 'sets the focus to the first task in the list'
    },
    focusForm: {
      key: 'ctrl+alt+f',
      description: locale === 'zh' ? '跳到任务表单的第一个输入框' : 'sets the focus to the first input field in a task form'
    },
    startProcess: {
      key: 'ctrl+alt+p',
      description: locale === 'zh' ? '打开发起流程对话框' : 'opens the start process modal dialog'
    }
  }
};
