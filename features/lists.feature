@core @lists @requires-multiuser
Feature: Lists never leak another tenant's objects
  A list is scoped to the namespace the request names, and the caller must be allowed to list
  there. A filter, a sort key or a page token only shapes what that scope holds: the server
  AND-s the filter with the scope, counts total_size over the scope, and re-applies the scope
  from each request, never from the page token (which carries sort and filter only).

  Background: both tenants hold experiments, made by their owners (the positive control)
    Given alice created an experiment "plans" in alice
    And alice created an experiment "budget" in alice
    And bob created an experiment "bobs-plans" in bob

  Scenario Outline: total_size counts only the caller's namespace (<api>)
    When alice lists experiments in alice with <api>
    Then the listed experiments are exactly "budget", "plans"
    And the list shows nothing of bob's
    And total_size is 2
    When bob lists experiments in bob with <api>
    Then the listed experiments are exactly "bobs-plans"
    And the list shows nothing of alice's
    And total_size is 1

    Examples:
      | api     |
      | v2beta1 |
      | v1beta1 |

  Scenario Outline: A filter on <key> cannot reach bob's experiments (<api>)
    When bob lists experiments in bob with <api> where <key> <op> <value>
    Then the listed experiments are exactly "bobs-plans"
    When alice lists experiments in alice with <api> where <key> <op> <value>
    Then the request succeeds
    And the list shows nothing of bob's
    And total_size is 0

    Examples:
      | api     | key           | op     | value                                |
      | v2beta1 | display_name  | EQUALS | "bobs-plans"                         |
      | v2beta1 | namespace     | EQUALS | "{namespace:bob}"                    |
      | v2beta1 | experiment_id | EQUALS | "{experiment:bobs-plans}"            |
      | v2beta1 | display_name  | IN     | "bobs-plans", "nobodys-plans"        |
      | v1beta1 | name          | EQUALS | "bobs-plans"                         |
      | v1beta1 | namespace     | EQUALS | "{namespace:bob}"                    |
      | v1beta1 | id            | EQUALS | "{experiment:bobs-plans}"            |

  Scenario Outline: A filter that matches both tenants shows each only its own (<api>)
    When alice lists experiments in alice with <api> where <key> <op> <value>
    Then the listed experiments are exactly "plans"
    And the list shows nothing of bob's
    And total_size is 1
    When bob lists experiments in bob with <api> where <key> <op> <value>
    Then the listed experiments are exactly "bobs-plans"
    And the list shows nothing of alice's
    And total_size is 1

    Examples:
      | api     | key          | op           | value                                       |
      | v2beta1 | display_name | IS_SUBSTRING | "plans"                                     |
      | v2beta1 | display_name | IN           | "plans", "bobs-plans"                       |
      | v1beta1 | name         | NOT_EQUALS   | "budget"                                    |

  Scenario Outline: A filter on namespace naming both tenants shows alice only her own (<api>)
    When alice lists experiments in alice with <api> where namespace IN "{namespace:alice}", "{namespace:bob}"
    Then the listed experiments are exactly "budget", "plans"
    And the list shows nothing of bob's
    And total_size is 2

    Examples:
      | api     |
      | v2beta1 |
      | v1beta1 |

  Scenario Outline: Sorting by <sort> shows no other tenant's rows (<api>)
    When alice lists experiments in alice with <api> sorted by "<sort>"
    Then the listed experiments are, in order, <alice's order>
    And total_size is 2
    When bob lists experiments in bob with <api> sorted by "<sort>"
    Then the listed experiments are, in order, "bobs-plans"
    And the list shows nothing of alice's
    And total_size is 1

    Examples:
      | api     | sort              | alice's order     |
      | v2beta1 | display_name      | "budget", "plans" |
      | v2beta1 | display_name desc | "plans", "budget" |
      | v1beta1 | name desc         | "plans", "budget" |

  Scenario Outline: alice's page token is useless to bob (<api>)
    When alice lists experiments in alice with <api>, 1 per page, sorted by "<sort>"
    Then the listed experiments are exactly "budget"
    And total_size is 2
    And the list continues on a next page
    When alice lists experiments in alice with <api>, 1 per page, from the page token alice got
    Then the listed experiments are exactly "plans"
    And total_size is 2
    When bob lists experiments in alice with <api>, 1 per page, from the page token alice got
    Then the request is denied
    When bob lists experiments in bob with <api>, 1 per page, from the page token alice got
    Then the request succeeds
    And the list shows nothing of alice's
    And total_size is 1

    Examples:
      | api     | sort         |
      | v2beta1 | display_name |
      | v1beta1 | name         |
