package org.smartfin.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.camunda.bpm.engine.impl.bpmn.parser.AbstractBpmnParseListener;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;
import org.camunda.bpm.engine.impl.pvm.process.ActivityImpl;
import org.camunda.bpm.engine.impl.pvm.process.ScopeImpl;
import org.camunda.bpm.engine.impl.util.xml.Element;
import org.camunda.bpm.engine.task.IdentityLink;
import org.camunda.bpm.engine.task.IdentityLinkType;
import org.springframework.stereotype.Component;

/**
 * Each approval task knows its step of the chain fixed at routing, and a completion that does not
 * match that step is refused inside the engine.
 *
 * <p>The routing worker (service account) stores the chain in the project's tables and returns a
 * copy as the process variable {@code approvalChain} (a JSON array of candidate groups, in order)
 * with {@code approvalRound}; users cannot write either (reserved names, see
 * {@link WriteGuardPlugin}). A user task inside the multi-instance approval opts in with
 * <pre>
 * &lt;camunda:property name="approvalStep" value="true"/&gt;
 * </pre>
 * On create it gets the task-local variable {@code approvalStep} = {@code loopCounter + 1}. A
 * completion by a user who is not privileged is refused (HTTP 403, {@code WRITE_GUARD:}) when
 * {@code approvalChain} is missing or unreadable, when {@code loopCounter} points outside it or no
 * longer matches the step the task was created for, when the task's candidates are not exactly the
 * group {@code approvalChain[loopCounter]}, or when the element variable {@code approverGroup}
 * differs from it. The write guard's command interceptor runs the check before the command (so the
 * refusal is a 403); the complete listener runs it again for completions that reach the task another
 * way (the engine wraps a listener's refusal: HTTP 500, message still containing {@code WRITE_GUARD:}).
 * The service account and administrators are not restricted, as everywhere in the write guard: what
 * holds against them is the control step before money moves.
 */
@Component
public class ApprovalStepPlugin extends AbstractProcessEnginePlugin {

  public static final String PROPERTY = "approvalStep";
  public static final String VAR_CHAIN = "approvalChain";
  public static final String VAR_ROUND = "approvalRound";
  public static final String VAR_STEP = "approvalStep";
  public static final String VAR_LOOP_COUNTER = "loopCounter";
  public static final String VAR_ELEMENT = "approverGroup";

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    List<BpmnParseListener> listeners = configuration.getCustomPreBPMNParseListeners();
    if (listeners == null) {
      listeners = new ArrayList<>();
      configuration.setCustomPreBPMNParseListeners(listeners);
    }
    listeners.add(new ParseListener());
  }

  /** Whether a task definition is marked as a step of an approval chain. */
  static boolean marked(Map<String, String> properties) {
    return "true".equalsIgnoreCase(FourEyesPlugin.blankToNull(properties.get(PROPERTY)));
  }

  static final class ParseListener extends AbstractBpmnParseListener {
    @Override
    public void parseUserTask(Element element, ScopeImpl scope, ActivityImpl activity) {
      if (!(activity.getActivityBehavior() instanceof UserTaskActivityBehavior behavior)) {
        return;
      }
      if (!marked(FourEyesPlugin.extensionProperties(element))) {
        return;
      }
      StepListener listener = new StepListener();
      behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_CREATE, listener);
      behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_COMPLETE, listener);
    }
  }

  static final class StepListener implements TaskListener {
    @Override
    public void notify(DelegateTask task) {
      if (EVENTNAME_CREATE.equals(task.getEventName())) {
        Integer counter = integer(task.getVariable(VAR_LOOP_COUNTER));
        if (counter != null) {
          task.setVariableLocal(VAR_STEP, counter + 1);
        }
        return;
      }
      if (!EVENTNAME_COMPLETE.equals(task.getEventName())) {
        return;
      }
      CommandContext ctx = Context.getCommandContext();
      if (ctx == null || ctx.getAuthenticatedUserId() == null
          || WriteGuardPlugin.privileged(ctx.getAuthenticatedGroupIds())) {
        return;
      }
      Set<String> groups = new TreeSet<>();
      Set<String> users = new TreeSet<>();
      for (IdentityLink link : task.getCandidates()) {
        if (link.getGroupId() != null) {
          groups.add(link.getGroupId());
        }
        if (link.getUserId() != null) {
          users.add(link.getUserId());
        }
      }
      String problem = mismatch(task.getVariable(VAR_CHAIN), task.getVariable(VAR_LOOP_COUNTER),
          task.getVariableLocal(VAR_STEP), task.getVariable(VAR_ELEMENT), groups, users);
      if (problem != null) {
        throw WriteGuardPlugin.refused(describe(task.getTaskDefinitionKey(), task.getId(), problem));
      }
    }
  }

  /** The candidate groups and users of a task's identity links. */
  static void candidates(Collection<IdentityLink> links, Set<String> groups, Set<String> users) {
    for (IdentityLink link : links) {
      if (!IdentityLinkType.CANDIDATE.equals(link.getType())) {
        continue;
      }
      if (link.getGroupId() != null) {
        groups.add(link.getGroupId());
      }
      if (link.getUserId() != null) {
        users.add(link.getUserId());
      }
    }
  }

  static String describe(String taskKey, String taskId, String problem) {
    return "审批任务与审批链不符 / the approval task does not match the stored approval chain (task " + taskKey + " "
        + taskId + "): " + problem;
  }

  /**
   * Why a completion of an approval step does not match the stored chain, or null when it does.
   * Pure: the values as the engine holds them at completion.
   */
  static String mismatch(Object chainValue, Object loopCounter, Object step, Object element, Set<String> groups,
                         Set<String> users) {
    List<String> chain = chain(chainValue);
    if (chain == null) {
      return "变量 approvalChain 缺失或无法读取 / the variable approvalChain (the routed chain) is missing or unreadable";
    }
    Integer counter = integer(loopCounter);
    if (counter == null || counter < 0 || counter >= chain.size()) {
      return "loopCounter=" + loopCounter + " 不在审批链 (" + chain.size() + " 级) 内 / loopCounter " + loopCounter
          + " is outside the chain of " + chain.size() + " steps";
    }
    Integer created = integer(step);
    if (created == null || created != counter + 1) {
      return "任务创建于第 " + step + " 级，loopCounter 现指第 " + (counter + 1) + " 级 / the task was created for step " + step
          + ", loopCounter now points at step " + (counter + 1);
    }
    String expected = chain.get(counter);
    if (!users.isEmpty() || !groups.equals(Set.of(expected))) {
      return "第 " + (counter + 1) + " 级应由 " + expected + " 审批，任务候选为 " + groups + (users.isEmpty() ? "" : " " + users)
          + " / step " + (counter + 1) + " belongs to " + expected + ", the task's candidates are " + groups
          + (users.isEmpty() ? "" : " and users " + users);
    }
    if (element == null || !expected.equals(element.toString())) {
      return "approverGroup=" + element + "，审批链第 " + (counter + 1) + " 级为 " + expected + " / approverGroup is "
          + element + ", step " + (counter + 1) + " of the chain is " + expected;
    }
    return null;
  }

  /** The chain from its variable: a JSON array of group ids (text or a JSON value); null when unreadable. */
  static List<String> chain(Object value) {
    if (value == null) {
      return null;
    }
    try {
      JsonNode node = JSON.readTree(value.toString());
      if (node == null || !node.isArray() || node.isEmpty()) {
        return null;
      }
      List<String> groups = new ArrayList<>();
      for (JsonNode item : node) {
        if (!item.isTextual() || item.asText().isBlank()) {
          return null;
        }
        groups.add(item.asText());
      }
      return groups;
    } catch (Exception e) {
      return null;
    }
  }

  static Integer integer(Object value) {
    if (value instanceof Integer i) {
      return i;
    }
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      return n.intValue();
    }
    return null;
  }
}
