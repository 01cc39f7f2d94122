package org.smartfin.engine;

import java.util.ArrayList;
import java.util.List;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.camunda.bpm.engine.impl.bpmn.parser.AbstractBpmnParseListener;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.pvm.process.ActivityImpl;
import org.camunda.bpm.engine.impl.pvm.process.ScopeImpl;
import org.camunda.bpm.engine.impl.util.xml.Element;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Copies the facts an approver needs in the Tasklist list (document number, requester, department,
 * amount, purpose) onto each user task as task-local variables named {@code list_<name>}.
 *
 * <p>Why copies: Tasklist reads the list's columns with a variable-instance query, and with
 * {@code enforce-specific-variable-permission} a candidate may read only the variables of the
 * task itself (READ_VARIABLE on the task); the process's variables would need READ_INSTANCE_VARIABLE
 * on the whole process definition, which would show every department's documents to every role.
 * The copies are display only: no control reads them, users cannot write them (the write guard
 * allows only the task form's fields), and they vanish with the task. The names copied are
 * {@code smartfin.tasklist.list-variables}; the filters that show them are written by
 * {@code smartfin up} (smartfin/camunda/tasklist_filters.py).
 */
@Component
public class TaskListColumnsPlugin extends AbstractProcessEnginePlugin {

  public static final String PREFIX = "list_";

  private final List<String> names;

  public TaskListColumnsPlugin(@Value("${smartfin.tasklist.list-variables:}") List<String> names) {
    List<String> cleaned = new ArrayList<>();
    for (String name : names) {
      if (name != null && !name.isBlank()) {
        cleaned.add(name.trim());
      }
    }
    this.names = List.copyOf(cleaned);
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    if (names.isEmpty()) {
      return;
    }
    List<BpmnParseListener> listeners = configuration.getCustomPostBPMNParseListeners();
    if (listeners == null) {
      listeners = new ArrayList<>();
      configuration.setCustomPostBPMNParseListeners(listeners);
    }
    listeners.add(new ParseListener(names));
  }

  static final class ParseListener extends AbstractBpmnParseListener {
    private final List<String> names;

    ParseListener(List<String> names) {
      this.names = names;
    }

    @Override
    public void parseUserTask(Element element, ScopeImpl scope, ActivityImpl activity) {
      if (activity.getActivityBehavior() instanceof UserTaskActivityBehavior behavior) {
        behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_CREATE, new CopyListener(names));
      }
    }
  }

  static final class CopyListener implements TaskListener {
    private final List<String> names;

    CopyListener(List<String> names) {
      this.names = names;
    }

    @Override
    public void notify(DelegateTask task) {
      for (String name : names) {
        Object value = task.getVariable(name);
        if (value != null) {
          task.setVariableLocal(PREFIX + name, value);
        }
      }
    }
  }
}
