<%@ page contentType="text/html;charset=UTF-8" session="true" import="dev.tether.bench.app.*" %><%--
  The page workload of the Tether benchmark: about 20 KB of HTML rendered through EL from a session of
  about 10 KB (PageSession). ?write=1 changes one cart line in place and sets the cart again. A request
  without the session's data answers 410, which wrk counts as an error.
--%><%
    Cart cart = (Cart) session.getAttribute("cart");
    Profile user = (Profile) session.getAttribute("user");
    if (cart == null || user == null) {
        response.sendError(410);
        return;
    }
    if (request.getParameter("write") != null) {
        PageSession.change(session, cart);
    }
%><!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Your cart (${sessionScope.cart.size} items)</title>
<style>table{border-collapse:collapse}td,th{padding:2px 6px;border-bottom:1px solid #ddd}.num{text-align:right}</style></head>
<body>
<header><h1>Welcome back, ${sessionScope.user.name}</h1>
<p>Signed in as <a href="mailto:${sessionScope.user.email}">${sessionScope.user.email}</a>; visits counted: ${sessionScope.counter}; cart changes: ${sessionScope.cart.changes}</p>
<p class="address">Delivery to: ${sessionScope.user.address}</p></header>
<main>
<h2>Your cart</h2>
<table>
<thead><tr><th>SKU</th><th>Item</th><th>Description</th><th class="num">Price</th><th class="num">Qty</th><th class="num">Subtotal</th></tr></thead>
<tbody>
<% for (CartItem item : cart.getItems()) { pageContext.setAttribute("item", item); %><tr><td>${item.sku}</td><td>${item.name}</td><td>${item.description}</td><td class="num">${item.price}</td><td class="num">${item.quantity}</td><td class="num">${item.subtotal}</td></tr>
<% } %></tbody>
<tfoot><tr><td colspan="5">Total</td><td class="num">${sessionScope.cart.total}</td></tr></tfoot>
</table>
<h2>Recommended for you</h2>
<ul>
<% for (CartItem item : PageSession.recommendations()) { pageContext.setAttribute("item", item); %><li><strong>${item.name}</strong> (${item.sku}), ${item.price}: ${item.description}</li>
<% } %></ul>
</main>
<footer><p>Preferences: ${sessionScope.user.preferences}</p></footer>
</body>
</html>
