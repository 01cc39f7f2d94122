package org.smartfin.engine;

import java.util.List;

/** The workflow role groups (candidate groups in the BPMN models) and their Tasklist filters. */
final class Roles {

  record Role(String id, String nameZh, String nameEn) {
    String groupName() {
      return nameZh + " " + nameEn;
    }

    String filterName() {
      return nameZh + "待办 " + nameEn + " tasks";
    }
  }

  static final List<Role> ALL = List.of(
      new Role("requester", "申请人", "Requester"),
      new Role("dept-head", "部门负责人", "Department head"),
      new Role("finance-officer", "财务审核员", "Finance officer"),
      new Role("chief-accountant", "总会计师", "Chief accountant"),
      new Role("finance-head", "财务处长", "Finance head"),
      new Role("vice-president", "分管副院长", "Vice president"),
      new Role("finance-vp", "分管财务副院长", "Finance vice president"),
      new Role("president", "院长", "President"),
      new Role("budget-committee", "预算管理委员会", "Budget committee"),
      new Role("party-committee", "党委会", "Party committee"),
      new Role("equipment-committee", "设备论证委员会", "Equipment committee"),
      new Role("proxy-entry", "代录员", "Proxy entry"),
      new Role("insurance-officer", "科室医保专管员", "Insurance officer"));

  /**
   * Groups that may start the requester-startable processes: requesters, and the proxy-entry
   * clerks (代录) who key documents in on someone's behalf (the SmartFin CLI records them as such).
   */
  static final List<String> STARTER_GROUPS = List.of("requester", "proxy-entry");

  /** Process keys the starter groups may start from Tasklist. */
  static final List<String> REQUESTER_STARTABLE = List.of(
      "spending-approval", "reimbursement", "procurement-evaluation", "budget-adjustment");

  static final String MY_TASKS_FILTER = "我的任务 My tasks";

  private Roles() {
  }
}
