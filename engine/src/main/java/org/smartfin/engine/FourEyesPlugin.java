package org.smartfin.engine;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.camunda.bpm.engine.ProcessEngineException;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.camunda.bpm.engine.impl.bpmn.parser.AbstractBpmnParseListener;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParse;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;
import org.camunda.bpm.engine.impl.pvm.process.ActivityImpl;
import org.camunda.bpm.engine.impl.pvm.process.ScopeImpl;
import org.camunda.bpm.engine.impl.util.xml.Element;
import org.camunda.spin.plugin.variable.SpinValues;
import org.springframework.stereotype.Component;

/**
 * Four-eyes rule and decision trail for user tasks, enforced inside the engine.
 *
 * <p>A user task opts in with an extension property:
 * <pre>
 * &lt;camunda:properties&gt;
 *   &lt;camunda:property name="fourEyes" value="requester"/&gt;
 * &lt;/camunda:properties&gt;
 * </pre>
 * The value names the process variable holding the user id that must not work on
 * the task. Assigning (claiming) the task to that user, or completing it while
 * authenticated as that user, fails with a {@link ProcessEngineException} whose
 * message starts with {@code FOUR_EYES:}. Every allowed completion appends a
 * record to the Json process variable {@code decisions} and adds a task comment.
 *
 * <p>{@code <camunda:property name="recordDecision" value="true"/>} records
 * decisions for a task without the four-eyes check.
 */
@Component
public class FourEyesPlugin extends AbstractProcessEnginePlugin {

  public static final String PROPERTY_FOUR_EYES = "fourEyes";
  public static final String PROPERTY_RECORD_DECISION = "recordDecision";
  public static final String VAR_DECISIONS = "decisions";
  public static final String VAR_DECISION = "decision";
  public static final String VAR_COMMENT = "comment";
  public static final String ERROR_PREFIX = "FOUR_EYES:";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSxxx");

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    List<BpmnParseListener> listeners = configuration.getCustomPreBPMNParseListeners();
    if (listeners == null) {
      listeners = new ArrayList<>();
      configuration.setCustomPreBPMNParseListeners(listeners);
    }
    listeners.add(new ParseListener());
  }

  static final class ParseListener extends AbstractBpmnParseListener {
    @Override
    public void parseUserTask(Element element, ScopeImpl scope, ActivityImpl activity) {
      if (!(activity.getActivityBehavior() instanceof UserTaskActivityBehavior behavior)) {
        return;
      }
      Map<String, String> props = extensionProperties(element);
      String excluded = props.get(PROPERTY_FOUR_EYES);
      boolean record = excluded != null || "true".equalsIgnoreCase(props.get(PROPERTY_RECORD_DECISION));
      if (!record) {
        return;
      }
      DecisionListener listener = new DecisionListener(blankToNull(excluded));
      if (listener.excludedVariable != null) {
        behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_ASSIGNMENT, listener);
      }
      behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_COMPLETE, listener);
    }
  }

  static Map<String, String> extensionProperties(Element element) {
    Map<String, String> result = new LinkedHashMap<>();
    Element ext = element.element("extensionElements");
    if (ext == null) {
      return result;
    }
    Element properties = ext.elementNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "properties");
    if (properties == null) {
      return result;
    }
    for (Element p : properties.elementsNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "property")) {
      String name = p.attribute("name");
      if (name != null) {
        result.put(name, p.attribute("value"));
      }
    }
    return result;
  }

  static final class DecisionListener implements TaskListener {
    final String excludedVariable;

    DecisionListener(String excludedVariable) {
      this.excludedVariable = excludedVariable;
    }

    @Override
    public void notify(DelegateTask task) {
      String event = task.getEventName();
      if (EVENTNAME_ASSIGNMENT.equals(event)) {
        String assignee = task.getAssignee();
        if (assignee != null && assignee.equals(excludedUser(task))) {
          throw violation(task, assignee);
        }
      } else if (EVENTNAME_COMPLETE.equals(event)) {
        String user = currentUser(task);
        if (user != null && excludedVariable != null && user.equals(excludedUser(task))) {
          throw violation(task, user);
        }
        record(task, user);
      }
    }

    String excludedUser(DelegateTask task) {
      if (excludedVariable == null) {
        return null;
      }
      Object value = task.getVariable(excludedVariable);
      return value == null ? null : value.toString();
    }

    ProcessEngineException violation(DelegateTask task, String user) {
      DelegateExecution execution = task.getExecution();
      String key = execution == null ? null : execution.getProcessBusinessKey();
      String ref = key != null ? key : (execution == null ? task.getId() : execution.getProcessInstanceId());
      return new ProcessEngineException(ERROR_PREFIX + " 申请人不能审批本人的申请 / the requester cannot approve "
          + "their own request " + ref + " (user " + user + ", task " + task.getTaskDefinitionKey() + ")");
    }

    void record(DelegateTask task, String authenticatedUser) {
      DelegateExecution execution = task.getExecution();
      String user = authenticatedUser != null ? authenticatedUser
          : (task.getAssignee() != null ? task.getAssignee() : "system");
      String outcome = asString(task.getVariable(VAR_DECISION));
      String comment = asString(task.getVariable(VAR_COMMENT));

      ObjectNode entry = JSON.createObjectNode();
      entry.put("task", task.getTaskDefinitionKey());
      entry.put("taskName", task.getName());
      entry.put("user", user);
      entry.put("time", OffsetDateTime.now().truncatedTo(ChronoUnit.MILLIS).format(TIME));
      entry.put("outcome", outcome);
      entry.put("comment", comment);

      if (execution != null) {
        DelegateExecution instance = execution.getProcessInstance();
        ArrayNode list = readDecisions(instance);
        list.add(entry);
        instance.setVariable(VAR_DECISIONS, SpinValues.jsonValue(list.toString()).create());
      }

      String message = commentText(outcome, comment);
      if (message != null) {
        String processInstanceId = execution == null ? null : execution.getProcessInstanceId();
        CommandContext ctx = Context.getCommandContext();
        if (ctx != null) {
          ctx.runWithoutAuthorization(() -> task.getProcessEngineServices().getTaskService()
              .createComment(task.getId(), processInstanceId, message));
        } else {
          task.getProcessEngineServices().getTaskService()
              .createComment(task.getId(), processInstanceId, message);
        }
      }
    }
  }

  static String currentUser(DelegateTask task) {
    CommandContext ctx = Context.getCommandContext();
    if (ctx != null) {
      return ctx.getAuthenticatedUserId();
    }
    Authentication a = task.getProcessEngineServices().getIdentityService().getCurrentAuthentication();
    return a == null ? null : a.getUserId();
  }

  static ArrayNode readDecisions(DelegateExecution instance) {
    // Read the deserialized value: a Spin JSON node whose toString() is the JSON text.
    Object current = instance.getVariable(VAR_DECISIONS);
    if (current == null) {
      return JSON.createArrayNode();
    }
    String text = current.toString();
    if (text.isBlank()) {
      return JSON.createArrayNode();
    }
    try {
      var node = JSON.readTree(text);
      if (node instanceof ArrayNode array) {
        return array;
      }
      ArrayNode wrapped = JSON.createArrayNode();
      wrapped.add(node);
      return wrapped;
    } catch (Exception e) {
      throw new ProcessEngineException("variable '" + VAR_DECISIONS + "' is not valid JSON: " + e.getMessage(), e);
    }
  }

  static String commentText(String outcome, String comment) {
    if (outcome == null && comment == null) {
      return null;
    }
    if (outcome == null) {
      return comment;
    }
    return comment == null ? outcome : outcome + ": " + comment;
  }

  static String asString(Object value) {
    return value == null ? null : value.toString();
  }

  static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
